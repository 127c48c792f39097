package io.tianshu.gateway.chat;

import io.swagger.v3.oas.annotations.Operation;
import io.swagger.v3.oas.annotations.media.Content;
import io.swagger.v3.oas.annotations.media.ExampleObject;
import io.swagger.v3.oas.annotations.media.Schema;
import io.swagger.v3.oas.annotations.responses.ApiResponse;
import io.swagger.v3.oas.annotations.tags.Tag;
import io.tianshu.gateway.auth.Callers;
import io.tianshu.gateway.backend.InferenceClient;
import io.tianshu.gateway.requestid.RequestId;
import io.tianshu.gateway.web.JsonWriter;
import io.tianshu.gateway.web.ServerSentEvent;
import io.tianshu.gateway.web.SseStream;
import io.tianshu.inference.v1.GenerateResponse;
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
import reactor.core.publisher.Flux;
import reactor.core.publisher.Mono;

/**
 * {@code POST /v1/chat/completions}: validate, check the model and the caller's right to it,
 * count the prompt, admit against the rate limits, then one Generate or one GenerateStream
 * call, settled to its real usage when it ends. The response is written by hand because the
 * same route answers JSON or an SSE stream depending on the body.
 */
@RestController
@Tag(name = "Inference", description = "OpenAI's chat, completions, embeddings and models")
class ChatController {

    private static final Logger log = LoggerFactory.getLogger(ChatController.class);

    private final InferenceClient inference;
    private final GenerationGate gate;
    private final SseStream sse;
    private final JsonWriter json;

    ChatController(InferenceClient inference, GenerationGate gate, SseStream sse, JsonWriter json) {
        this.inference = inference;
        this.gate = gate;
        this.sse = sse;
        this.json = json;
    }

    @PostMapping("/v1/chat/completions")
    @Operation(summary = "Chat completion (scope chat)", description = "OpenAI's chat completion. stream=true: "
            + "server-sent events, data: {chat.completion.chunk} per delta, then data: [DONE]; a failure after the "
            + "first event ends the stream with data: {error}.",
            requestBody = @io.swagger.v3.oas.annotations.parameters.RequestBody(required = true, content = @Content(
                    mediaType = MediaType.APPLICATION_JSON_VALUE,
                    schema = @Schema(implementation = ChatCompletionRequest.class),
                    examples = @ExampleObject(name = "question", value = "{\"model\": \"smollm2-135m-instruct\", "
                            + "\"messages\": [{\"role\": \"user\", \"content\": \"What is the capital of France?\"}], "
                            + "\"max_tokens\": 8}"))),
            responses = @ApiResponse(responseCode = "200", description = "The completion, or its stream", content = {
                @Content(mediaType = MediaType.APPLICATION_JSON_VALUE,
                        schema = @Schema(implementation = ChatCompletion.class)),
                @Content(mediaType = MediaType.TEXT_EVENT_STREAM_VALUE,
                        schema = @Schema(implementation = ServerSentEvent.class))}))
    Mono<Void> complete(@RequestBody ChatCompletionRequest request, ServerWebExchange exchange) {
        String requestId = RequestId.of(exchange);
        Generation requested = ChatRequestMapper.toGeneration(request, requestId);
        String id = "chatcmpl-" + requestId;
        long created = Instant.now().getEpochSecond();
        ServerHttpResponse response = exchange.getResponse();
        return Callers.current()
                .flatMap(caller -> gate.admit(caller, requested, request.streaming(), "chat.completions",
                        model -> ChatRequestMapper.checkModelLimits(request, model), response.getHeaders()))
                .flatMap(admitted -> request.streaming()
                        ? sse.write(response, chunks(request, admitted, id, created), "chat completion")
                        : admitted.meter(inference.generate(admitted.generation()))
                                .flatMap(r -> json.write(response, MediaType.APPLICATION_JSON,
                                                ChatCompletion.of(r, id, created, admitted.generation().getModel(),
                                                        request.wantsLogprobs()))
                                        // Once the answer is on its way: a log write is a syscall the
                                        // caller need not wait for.
                                        .doOnSuccess(written -> log.info("chat completion done: model={} usage={}",
                                                r.getModel(), r.getUsage().getTotalTokens()))));
    }

    private Flux<ChatCompletionChunk> chunks(ChatCompletionRequest request, GenerationGate.Admitted admitted,
            String id, long created) {
        ChunkAssembler assembler = new ChunkAssembler(id, created, admitted.generation().getModel(),
                request.wantsLogprobs());
        return admitted.meter(inference.generateStream(admitted.generation()))
                .concatMap(message -> Mono.justOrEmpty(assembler.onMessage(message)))
                .concatWith(Mono.defer(() -> request.includeUsage()
                        ? Mono.justOrEmpty(assembler.usageChunk()) : Mono.empty()));
    }
}
