package io.tianshu.gateway.embeddings;

import io.tianshu.gateway.auth.Callers;
import io.tianshu.gateway.backend.InferenceClient;
import io.tianshu.gateway.models.ModelCatalog;
import io.tianshu.gateway.ratelimit.Limiter;
import io.tianshu.gateway.ratelimit.PromptCounter;
import io.tianshu.gateway.requestid.RequestId;
import io.tianshu.inference.v1.EmbedRequest;
import io.tianshu.inference.v1.EmbedResponse;
import org.springframework.web.bind.annotation.PostMapping;
import org.springframework.web.bind.annotation.RequestBody;
import org.springframework.web.bind.annotation.RestController;
import org.springframework.web.server.ServerWebExchange;
import reactor.core.publisher.Mono;

/** {@code POST /v1/embeddings}: validate, check the model and the caller, admit, one Embed call. */
@RestController
class EmbeddingsController {

    private final InferenceClient inference;
    private final ModelCatalog catalog;
    private final Limiter limiter;

    EmbeddingsController(InferenceClient inference, ModelCatalog catalog, Limiter limiter) {
        this.inference = inference;
        this.catalog = catalog;
        this.limiter = limiter;
    }

    @PostMapping("/v1/embeddings")
    Mono<EmbeddingList> embed(@RequestBody EmbeddingsRequest request, ServerWebExchange exchange) {
        String requestId = RequestId.of(exchange);
        EmbedRequest embed = EmbeddingsMapper.toEmbedRequest(request, requestId);
        return Callers.current().flatMap(caller -> catalog.require(request.model())
                .doOnNext(model -> EmbeddingsMapper.checkModel(request, embed, model))
                .doOnNext(model -> Callers.checkModel(caller, request.model()))
                .flatMap(model -> limiter.admit(caller, "embeddings", request.model(), requestId,
                        PromptCounter.embedding(embed.getTextsList(), model), exchange.getResponse().getHeaders()))
                .flatMap(admission -> admission.meter(inference.embed(embed.toBuilder().setTenantId(caller.tenant())
                        .build()), EmbedResponse::getUsage))
                .map(response -> EmbeddingList.of(response, request.model(), request.base64())));
    }
}
