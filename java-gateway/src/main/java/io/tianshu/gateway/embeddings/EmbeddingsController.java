package io.tianshu.gateway.embeddings;

import io.swagger.v3.oas.annotations.Operation;
import io.swagger.v3.oas.annotations.media.Content;
import io.swagger.v3.oas.annotations.media.ExampleObject;
import io.swagger.v3.oas.annotations.media.Schema;
import io.swagger.v3.oas.annotations.tags.Tag;
import io.tianshu.gateway.auth.Callers;
import io.tianshu.gateway.backend.InferenceClient;
import io.tianshu.gateway.config.DynamicConfig;
import io.tianshu.gateway.error.ApiException;
import io.tianshu.gateway.models.ModelCatalog;
import io.tianshu.gateway.ratelimit.Limiter;
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

/** {@code POST /v1/embeddings}: validate, check the model and the caller, admit, one Embed call. */
@RestController
@Tag(name = "Inference")
class EmbeddingsController {

    private final InferenceClient inference;
    private final ModelCatalog catalog;
    private final Limiter limiter;
    private final DynamicConfig dynamic;

    EmbeddingsController(InferenceClient inference, ModelCatalog catalog, Limiter limiter, DynamicConfig dynamic) {
        this.inference = inference;
        this.catalog = catalog;
        this.limiter = limiter;
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
        String served = dynamic.servedModel(request.model());
        return Callers.current().flatMap(caller -> {
            EmbedRequest embed = validated.toBuilder().setModel(served).setTenantId(caller.tenant()).build();
            return catalog.requireEmbeddingModel(served)
                    .doOnNext(model -> EmbeddingsMapper.checkModel(request, embed, model))
                    .doOnNext(model -> Callers.checkModel(caller, request.model(), served))
                    .flatMap(model -> limiter.admit(caller, "embeddings", served, requestId,
                            PromptCounter.embedding(embed.getTextsList(), model), exchange.getResponse().getHeaders()))
                    .flatMap(admission -> admission.meter(inference.embed(embed), EmbedResponse::getUsage))
                    .map(response -> EmbeddingList.of(response, served, request.base64()));
        });
    }
}
