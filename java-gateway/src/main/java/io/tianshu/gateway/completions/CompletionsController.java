package io.tianshu.gateway.completions;

import io.tianshu.gateway.auth.Callers;
import io.tianshu.gateway.backend.InferenceClient;
import io.tianshu.gateway.models.ModelCatalog;
import io.tianshu.gateway.ratelimit.Admission;
import io.tianshu.gateway.ratelimit.Limiter;
import io.tianshu.gateway.ratelimit.PromptCounter;
import io.tianshu.gateway.requestid.RequestId;
import io.tianshu.gateway.web.JsonWriter;
import io.tianshu.gateway.web.SseStream;
import io.tianshu.inference.v1.GenerateResponse;
import io.tianshu.inference.v1.Generation;
import java.time.Instant;
import org.springframework.http.MediaType;
import org.springframework.http.server.reactive.ServerHttpResponse;
import org.springframework.web.bind.annotation.PostMapping;
import org.springframework.web.bind.annotation.RequestBody;
import org.springframework.web.bind.annotation.RestController;
import org.springframework.web.server.ServerWebExchange;
import reactor.core.publisher.Flux;
import reactor.core.publisher.Mono;

/** {@code POST /v1/completions}: a raw prompt through Generate or GenerateStream. */
@RestController
class CompletionsController {

    private final InferenceClient inference;
    private final ModelCatalog catalog;
    private final PromptCounter counter;
    private final Limiter limiter;
    private final SseStream sse;
    private final JsonWriter json;

    CompletionsController(InferenceClient inference, ModelCatalog catalog, PromptCounter counter, Limiter limiter,
            SseStream sse, JsonWriter json) {
        this.inference = inference;
        this.catalog = catalog;
        this.counter = counter;
        this.limiter = limiter;
        this.sse = sse;
        this.json = json;
    }

    @PostMapping("/v1/completions")
    Mono<Void> complete(@RequestBody CompletionRequest request, ServerWebExchange exchange) {
        String requestId = RequestId.of(exchange);
        Generation unattributed = CompletionRequestMapper.toGeneration(request, requestId);
        String id = "cmpl-" + requestId;
        long created = Instant.now().getEpochSecond();
        ServerHttpResponse response = exchange.getResponse();
        return Callers.current().flatMap(caller -> {
            // The backends log and meter per tenant; only the gateway knows who is calling.
            Generation generation = unattributed.toBuilder().setTenantId(caller.tenant()).build();
            return catalog.requireGenerationModel(request.model())
                    .doOnNext(model -> CompletionRequestMapper.checkModelLimits(request, model))
                    .doOnNext(model -> Callers.checkModel(caller, request.model()))
                    .then(Mono.defer(() -> counter.generation(generation)))
                    .flatMap(estimate -> limiter.admit(caller, "completions", request.model(), requestId, estimate,
                            response.getHeaders()))
                    .flatMap(admission -> request.streaming()
                            ? sse.write(response, chunks(request, generation, admission, id, created), "completion")
                            : admission.meter(inference.generate(generation), GenerateResponse::getUsage)
                                    .map(r -> Completion.of(r, id, created, request.model(), request.wantsLogprobs()))
                                    .flatMap(c -> json.write(response, MediaType.APPLICATION_JSON, c)));
        });
    }

    private Flux<Completion> chunks(CompletionRequest request, Generation generation, Admission admission, String id,
            long created) {
        CompletionChunks assembler = new CompletionChunks(id, created, request.model(), request.wantsLogprobs());
        return admission.meter(inference.generateStream(generation))
                .concatMap(message -> Mono.justOrEmpty(assembler.onMessage(message)))
                .concatWith(Mono.defer(() -> request.includeUsage()
                        ? Mono.justOrEmpty(assembler.usageChunk()) : Mono.empty()));
    }
}
