package io.tianshu.gateway.chat;

import io.tianshu.gateway.backend.InferenceClient;
import io.tianshu.gateway.models.ModelCatalog;
import io.tianshu.gateway.requestid.RequestId;
import io.tianshu.inference.v1.Generation;
import java.time.Instant;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.springframework.http.MediaType;
import org.springframework.http.server.reactive.ServerHttpResponse;
import org.springframework.web.bind.annotation.PostMapping;
import org.springframework.web.bind.annotation.RequestBody;
import org.springframework.web.bind.annotation.RestController;
import org.springframework.web.server.ServerWebExchange;
import reactor.core.publisher.Mono;

/**
 * {@code POST /v1/chat/completions}: validate, check the model, then one Generate or one
 * GenerateStream call. The response is written by hand because the same route answers
 * JSON or an SSE stream depending on the body, and SSE must match OpenAI's framing.
 */
@RestController
class ChatController {

    private static final Logger log = LoggerFactory.getLogger(ChatController.class);

    private final InferenceClient inference;
    private final ModelCatalog catalog;
    private final SseStream sse;
    private final JsonWriter json;

    ChatController(InferenceClient inference, ModelCatalog catalog, SseStream sse, JsonWriter json) {
        this.inference = inference;
        this.catalog = catalog;
        this.sse = sse;
        this.json = json;
    }

    @PostMapping("/v1/chat/completions")
    Mono<Void> complete(@RequestBody ChatCompletionRequest request, ServerWebExchange exchange) {
        String requestId = RequestId.of(exchange);
        Generation generation = ChatRequestMapper.toGeneration(request, requestId);
        String id = "chatcmpl-" + requestId;
        long created = Instant.now().getEpochSecond();
        ServerHttpResponse response = exchange.getResponse();
        return catalog.requireGenerationModel(request.model())
                .doOnNext(model -> ChatRequestMapper.checkModelLimits(request, model))
                .then(Mono.defer(() -> request.streaming()
                        ? sse.write(response, inference.generateStream(generation),
                                new ChunkAssembler(id, created, request.model(), request.wantsLogprobs()),
                                request.includeUsage())
                        : inference.generate(generation)
                                .doOnNext(r -> log.info("chat completion done: model={} usage={}",
                                        r.getModel(), r.getUsage().getTotalTokens()))
                                .map(r -> ChatCompletion.of(r, id, created, request.model(), request.wantsLogprobs()))
                                .flatMap(completion -> json.write(response, MediaType.APPLICATION_JSON, completion))));
    }
}
