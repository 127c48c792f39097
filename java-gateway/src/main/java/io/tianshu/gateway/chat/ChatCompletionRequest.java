package io.tianshu.gateway.chat;

import static io.swagger.v3.oas.annotations.media.Schema.RequiredMode.REQUIRED;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.PropertyNamingStrategies;
import com.fasterxml.jackson.databind.annotation.JsonNaming;
import io.swagger.v3.oas.annotations.media.ArraySchema;
import io.swagger.v3.oas.annotations.media.Schema;
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
public record ChatCompletionRequest(
        @Schema(requiredMode = REQUIRED, minLength = 1, description = "A served model id or an alias",
                example = "smollm2-135m-instruct")
        String model,
        @ArraySchema(minItems = 1, arraySchema = @Schema(requiredMode = REQUIRED)) List<Message> messages,
        @Schema(minimum = "0", maximum = "2") Double temperature,
        @Schema(minimum = "0", exclusiveMinimum = true, maximum = "1") Double topP,
        @Schema(minimum = "1", description = "At most the model's context less the prompt") Integer maxTokens,
        @Schema(minimum = "1", description = "OpenAI's successor of max_tokens; wins when both are sent")
        Integer maxCompletionTokens,
        @Schema(description = "A stop sequence or several", oneOf = {String.class, String[].class}) JsonNode stop,
        Long seed,
        @Schema(minimum = "-2", maximum = "2") Double presencePenalty,
        @Schema(minimum = "-2", maximum = "2") Double frequencyPenalty,
        @Schema(minimum = "1", description = "Choices; at most the model's max_choices") Integer n,
        String user,
        Boolean stream,
        StreamOptions streamOptions,
        Boolean logprobs,
        @Schema(minimum = "0", maximum = "20", description = "Only with logprobs: true; at most the model's "
                + "max_logprobs") Integer topLogprobs,
        ResponseFormat responseFormat,
        @Schema(minimum = "1", description = "vLLM's extension: sample from the k most likely tokens") Integer topK,
        @Schema(description = "vLLM's extension: generate max_tokens even past the end of sequence")
        Boolean ignoreEos) {

    @Schema(name = "ChatCompletionRequestMessage")
    record Message(
            @Schema(requiredMode = REQUIRED, allowableValues = {"system", "developer", "user", "assistant", "tool"})
            String role,
            @Schema(description = "Text, or text parts; null only for assistant turns that carried tool calls",
                    oneOf = {String.class, TextPart[].class})
            JsonNode content,
            String name) {
    }

    /** The one kind of content part a text model reads; documented, read as part of content. */
    record TextPart(@Schema(requiredMode = REQUIRED, allowableValues = "text") String type,
            @Schema(requiredMode = REQUIRED) String text) {
    }

    @JsonNaming(PropertyNamingStrategies.SnakeCaseStrategy.class)
    record StreamOptions(@Schema(description = "A last chunk with the usage and no choices") Boolean includeUsage) {
    }

    @JsonNaming(PropertyNamingStrategies.SnakeCaseStrategy.class)
    record ResponseFormat(@Schema(allowableValues = {"text", "json_object", "json_schema"}) String type,
            @Schema(description = "Required with type json_schema") JsonSchema jsonSchema) {
    }

    record JsonSchema(String name, String description,
            @Schema(requiredMode = REQUIRED, types = "object", description = "A JSON Schema the answer follows")
            JsonNode schema,
            Boolean strict) {
    }

    public boolean streaming() {
        return Boolean.TRUE.equals(stream);
    }

    boolean includeUsage() {
        return streamOptions != null && Boolean.TRUE.equals(streamOptions.includeUsage());
    }

    boolean wantsLogprobs() {
        return Boolean.TRUE.equals(logprobs);
    }
}
