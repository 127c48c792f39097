package io.tianshu.gateway.embeddings;

import io.swagger.v3.oas.annotations.Operation;
import io.swagger.v3.oas.annotations.media.Content;
import io.swagger.v3.oas.annotations.media.ExampleObject;
import io.swagger.v3.oas.annotations.media.Schema;
import io.swagger.v3.oas.annotations.tags.Tag;
import io.tianshu.gateway.admission.AdmissionStep;
import io.tianshu.gateway.auth.Callers;
import io.tianshu.gateway.backend.InferenceClient;
import io.tianshu.gateway.config.DynamicConfig;
import io.tianshu.gateway.error.ApiException;
import io.tianshu.gateway.ratelimit.PromptCounter;
import io.tianshu.gateway.requestid.RequestId;
import io.tianshu.inference.v1.EmbedRequest;
import io.tianshu.inference.v1.EmbedResponse;
import org.springframework.http.MediaType;
import org.springframework.web.bind.annotation.PostMapping;
import org.springframework.web.bind.annotation.RequestBody;
import org.springframework.web.bind.annotation.RestController;
import org.springframework.web.server.ServerWebExchange;
import reactor.core.publisher.Mono;

/** {@code POST /v1/embeddings}: validate, the admission step, one Embed call metered by it. */
@RestController
@Tag(name = "Inference")
class EmbeddingsController {

    private final InferenceClient inference;
    private final AdmissionStep admission;
    private final DynamicConfig dynamic;

    EmbeddingsController(InferenceClient inference, AdmissionStep admission, DynamicConfig dynamic) {
        this.inference = inference;
        this.admission = admission;
        this.dynamic = dynamic;
    }

    @PostMapping("/v1/embeddings")
    @Operation(summary = "Embeddings of one text or several (scope embeddings)",
            requestBody = @io.swagger.v3.oas.annotations.parameters.RequestBody(required = true, content = @Content(
                    mediaType = MediaType.APPLICATION_JSON_VALUE,
                    schema = @Schema(implementation = EmbeddingsRequest.class),
                    examples = @ExampleObject(name = "texts", value = "{\"model\": \"all-minilm-l6-v2\", "
                            + "\"input\": [\"A cat sits on the mat.\", \"Stock markets fell.\"]}"))))
    Mono<EmbeddingList> embed(@RequestBody EmbeddingsRequest request, ServerWebExchange exchange) {
        if (!dynamic.current().features().embeddings()) {
            throw ApiException.featureDisabled("The embeddings API", null);
        }
        String requestId = RequestId.of(exchange);
        EmbedRequest validated = EmbeddingsMapper.toEmbedRequest(request, requestId);
        return Callers.current()
                .flatMap(caller -> admission.admit(new AdmissionStep.Call(caller, "embeddings", requestId,
                                exchange.getResponse().getHeaders()), request.model(), AdmissionStep.ModelUse.EMBEDDING,
                        model -> EmbeddingsMapper.checkModel(request, validated, model), (served, model) -> {
                            // The backends log and meter per tenant; only the gateway knows who is calling.
                            EmbedRequest embed = validated.toBuilder().setModel(served).setTenantId(caller.tenant())
                                    .build();
                            return Mono.just(new AdmissionStep.Priced<>(embed,
                                    PromptCounter.embedding(embed.getTextsList(), model)));
                        }))
                .flatMap(admitted -> admitted.admission().meter(inference.embed(admitted.request()),
                                EmbedResponse::getUsage)
                        .map(response -> EmbeddingList.of(response, admitted.model(), request.base64())));
    }
}
