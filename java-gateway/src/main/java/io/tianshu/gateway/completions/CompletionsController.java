package io.tianshu.gateway.completions;

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

/** {@code POST /v1/completions}: a raw prompt, validated and mapped, then the path chat takes ({@link GenerationRoute}). */
@RestController
@Tag(name = "Inference")
class CompletionsController {

    private final GenerationRoute route;

    CompletionsController(GenerationRoute route) {
        this.route = route;
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
        return route.serve(exchange, "completions", new GenerationRoute.Asked(requested, request.streaming(),
                        request.includeUsage(), model -> CompletionRequestMapper.checkModelLimits(request, model)),
                new GenerationRoute.Shapes("completion",
                        (r, model) -> Mono.just(Completion.of(r, id, created, model, request.wantsLogprobs())),
                        model -> new CompletionChunks(id, created, model, request.wantsLogprobs())));
    }
}
