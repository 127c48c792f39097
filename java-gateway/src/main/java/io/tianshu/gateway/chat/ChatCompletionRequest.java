package io.tianshu.gateway.chat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.PropertyNamingStrategies;
import com.fasterxml.jackson.databind.annotation.JsonNaming;
import java.util.List;

/**
 * The body of {@code POST /v1/chat/completions} as OpenAI defines it. Fields OpenAI allows
 * in several shapes (content, stop) stay {@link JsonNode} and are checked by
 * {@link ChatRequestMapper}, which can then name the field in its error. Unknown fields
 * are ignored, as SDKs send fields this gateway does not use yet. {@code top_k} and
 * {@code ignore_eos} are vLLM's extensions of the API (sent by SDKs as extra body fields),
 * accepted so that clients written for vLLM's own server work unchanged.
 */
@JsonNaming(PropertyNamingStrategies.SnakeCaseStrategy.class)
record ChatCompletionRequest(
        String model,
        List<Message> messages,
        Double temperature,
        Double topP,
        Integer maxTokens,
        Integer maxCompletionTokens,
        JsonNode stop,
        Long seed,
        Double presencePenalty,
        Double frequencyPenalty,
        Integer n,
        String user,
        Boolean stream,
        StreamOptions streamOptions,
        Boolean logprobs,
        Integer topLogprobs,
        ResponseFormat responseFormat,
        Integer topK,
        Boolean ignoreEos) {

    record Message(String role, JsonNode content, String name) {
    }

    @JsonNaming(PropertyNamingStrategies.SnakeCaseStrategy.class)
    record StreamOptions(Boolean includeUsage) {
    }

    @JsonNaming(PropertyNamingStrategies.SnakeCaseStrategy.class)
    record ResponseFormat(String type, JsonSchema jsonSchema) {
    }

    record JsonSchema(String name, String description, JsonNode schema, Boolean strict) {
    }

    boolean streaming() {
        return Boolean.TRUE.equals(stream);
    }

    boolean includeUsage() {
        return streamOptions != null && Boolean.TRUE.equals(streamOptions.includeUsage());
    }

    boolean wantsLogprobs() {
        return Boolean.TRUE.equals(logprobs);
    }
}
