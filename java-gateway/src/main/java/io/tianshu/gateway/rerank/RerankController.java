package io.tianshu.gateway.rerank;

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
import io.tianshu.inference.v1.RerankResponse;
import org.springframework.http.MediaType;
import org.springframework.web.bind.annotation.PostMapping;
import org.springframework.web.bind.annotation.RequestBody;
import org.springframework.web.bind.annotation.RestController;
import org.springframework.web.server.ServerWebExchange;
import reactor.core.publisher.Mono;

/**
 * {@code POST /v1/rerank} (and {@code /v2/rerank}, where Cohere's v2 client posts): validate,
 * the admission step, one Rerank call metered by it. A cross-encoder scores where the
 * inference service has one; an embedding model scores by cosine (python-inference README).
 */
@RestController
@Tag(name = "Inference")
class RerankController {

    private final InferenceClient inference;
    private final AdmissionStep admission;
    private final DynamicConfig dynamic;

    RerankController(InferenceClient inference, AdmissionStep admission, DynamicConfig dynamic) {
        this.inference = inference;
        this.admission = admission;
        this.dynamic = dynamic;
    }

    @PostMapping({"/v1/rerank", "/v2/rerank"})
    @Operation(summary = "Documents scored by relevance to a query, best first (scope embeddings)",
            requestBody = @io.swagger.v3.oas.annotations.parameters.RequestBody(required = true, content = @Content(
                    mediaType = MediaType.APPLICATION_JSON_VALUE,
                    schema = @Schema(implementation = RerankRequest.class),
                    examples = @ExampleObject(name = "query and documents", value = "{\"model\": "
                            + "\"all-minilm-l6-v2\", \"query\": \"How do I reset my password?\", \"documents\": "
                            + "[\"Revenue grew by 8%.\", \"Open Settings, then Security, to reset your password.\"], "
                            + "\"top_n\": 1}"))))
    Mono<RerankResults> rerank(@RequestBody RerankRequest request, ServerWebExchange exchange) {
        // Scoring reads the same retrieval models as embeddings do, and is switched with them.
        if (!dynamic.current().features().embeddings()) {
            throw ApiException.featureDisabled("The rerank API", null);
        }
        String requestId = RequestId.of(exchange);
        var validated = RerankMapper.toRerankRequest(request, requestId);
        return Callers.current()
                .flatMap(caller -> admission.admit(new AdmissionStep.Call(caller, "rerank", requestId,
                                exchange.getResponse().getHeaders()), request.model(), AdmissionStep.ModelUse.RERANK,
                        model -> RerankMapper.checkModel(validated, model), (served, model) -> {
                            var rerank = validated.clone().setModel(served).setTenantId(caller.tenant()).build();
                            return Mono.just(new AdmissionStep.Priced<>(rerank, PromptCounter.rerank(
                                    rerank.getQuery(), rerank.getDocumentsList(), model)));
                        }))
                .flatMap(admitted -> admitted.admission().meter(inference.rerank(admitted.request()),
                                RerankResponse::getUsage)
                        .map(response -> RerankResults.of(requestId, response, admitted.request().getDocumentsList(),
                                request.documentsReturned())));
    }
}
