package io.tianshu.gateway.chat;

import io.swagger.v3.oas.annotations.Operation;
import io.swagger.v3.oas.annotations.media.Content;
import io.swagger.v3.oas.annotations.media.ExampleObject;
import io.swagger.v3.oas.annotations.media.Schema;
import io.swagger.v3.oas.annotations.responses.ApiResponse;
import io.swagger.v3.oas.annotations.tags.Tag;
import io.tianshu.gateway.generation.GenerationRoute;
import io.tianshu.gateway.requestid.RequestId;
import io.tianshu.gateway.web.ServerSentEvent;
import io.tianshu.inference.v1.Generation;
import java.time.Instant;
import org.springframework.http.MediaType;
import org.springframework.web.bind.annotation.PostMapping;
import org.springframework.web.bind.annotation.RequestBody;
import org.springframework.web.bind.annotation.RestController;
import org.springframework.web.server.ServerWebExchange;
import reactor.core.publisher.Mono;

/**
 * {@code POST /v1/chat/completions}: validate and map the request, then the path every
 * generation route shares ({@link GenerationRoute}: admission, one Generate or GenerateStream
 * call settled to its real usage, JSON or SSE).
 */
@RestController
@Tag(name = "Inference", description = "OpenAI's chat, completions, embeddings and models")
class ChatController {

    private final GenerationRoute route;

    ChatController(GenerationRoute route) {
        this.route = route;
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
        return route.serve(exchange, "chat.completions", new GenerationRoute.Asked(requested, request.streaming(),
                        request.includeUsage(), model -> ChatRequestMapper.checkModelLimits(request, requested, model)),
                new GenerationRoute.Shapes("chat completion",
                        (r, model) -> Mono.just(ChatCompletion.of(r, id, created, model, request.wantsLogprobs())),
                        model -> new ChunkAssembler(id, created, model, request.wantsLogprobs())));
    }
}
