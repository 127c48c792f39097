package io.tianshu.gateway.completions;

import io.swagger.v3.oas.annotations.Operation;
import io.swagger.v3.oas.annotations.media.Content;
import io.swagger.v3.oas.annotations.media.ExampleObject;
import io.swagger.v3.oas.annotations.media.Schema;
import io.swagger.v3.oas.annotations.responses.ApiResponse;
import io.swagger.v3.oas.annotations.tags.Tag;
import io.tianshu.gateway.auth.Callers;
import io.tianshu.gateway.backend.InferenceClient;
import io.tianshu.gateway.chat.GenerationGate;
import io.tianshu.gateway.requestid.RequestId;
import io.tianshu.gateway.web.JsonWriter;
import io.tianshu.gateway.web.ServerSentEvent;
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
@Tag(name = "Inference")
class CompletionsController {

    private final InferenceClient inference;
    private final GenerationGate gate;
    private final SseStream sse;
    private final JsonWriter json;

    CompletionsController(InferenceClient inference, GenerationGate gate, SseStream sse, JsonWriter json) {
        this.inference = inference;
        this.gate = gate;
        this.sse = sse;
        this.json = json;
    }

    @PostMapping("/v1/completions")
    @Operation(summary = "Legacy text completion (scope chat)", description = "OpenAI's legacy completion of a raw "
            + "prompt. stream=true: server-sent events, data: {text_completion chunk}, then data: [DONE].",
            requestBody = @io.swagger.v3.oas.annotations.parameters.RequestBody(required = true, content = @Content(
                    mediaType = MediaType.APPLICATION_JSON_VALUE,
                    schema = @Schema(implementation = CompletionRequest.class),
                    examples = @ExampleObject(name = "prompt", value = "{\"model\": \"smollm2-135m-instruct\", "
                            + "\"prompt\": \"The capital of France is\", \"max_tokens\": 8}"))),
            responses = @ApiResponse(responseCode = "200", description = "The completion, or its stream", content = {
                @Content(mediaType = MediaType.APPLICATION_JSON_VALUE,
                        schema = @Schema(implementation = Completion.class)),
                @Content(mediaType = MediaType.TEXT_EVENT_STREAM_VALUE,
                        schema = @Schema(implementation = ServerSentEvent.class))}))
    Mono<Void> complete(@RequestBody CompletionRequest request, ServerWebExchange exchange) {
        String requestId = RequestId.of(exchange);
        Generation requested = CompletionRequestMapper.toGeneration(request, requestId);
        String id = "cmpl-" + requestId;
        long created = Instant.now().getEpochSecond();
        ServerHttpResponse response = exchange.getResponse();
        return Callers.current()
                .flatMap(caller -> gate.admit(caller, requested, request.streaming(), "completions",
                        model -> CompletionRequestMapper.checkModelLimits(request, model), response.getHeaders()))
                .flatMap(admitted -> request.streaming()
                        ? sse.write(response, chunks(request, admitted, id, created), "completion")
                        : admitted.meter(inference.generate(admitted.generation()))
                                .map(r -> Completion.of(r, id, created, admitted.generation().getModel(),
                                        request.wantsLogprobs()))
                                .flatMap(c -> json.write(response, MediaType.APPLICATION_JSON, c)));
    }

    private Flux<Completion> chunks(CompletionRequest request, GenerationGate.Admitted admitted, String id,
            long created) {
        CompletionChunks assembler = new CompletionChunks(id, created, admitted.generation().getModel(),
                request.wantsLogprobs());
        return admitted.meter(inference.generateStream(admitted.generation()))
                .concatMap(message -> Mono.justOrEmpty(assembler.onMessage(message)))
                .concatWith(Mono.defer(() -> request.includeUsage()
                        ? Mono.justOrEmpty(assembler.usageChunk()) : Mono.empty()));
    }
}
