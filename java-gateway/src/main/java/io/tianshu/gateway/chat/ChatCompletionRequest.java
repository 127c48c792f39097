package io.tianshu.gateway.chat;

import static io.swagger.v3.oas.annotations.media.Schema.RequiredMode.REQUIRED;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.PropertyNamingStrategies;
import com.fasterxml.jackson.databind.annotation.JsonNaming;
import io.swagger.v3.oas.annotations.media.ArraySchema;
import io.swagger.v3.oas.annotations.media.Schema;
import io.tianshu.gateway.tools.FunctionTool;
import io.tianshu.gateway.tools.MessageToolCall;
import io.tianshu.gateway.tools.ToolDefinitions;
import java.util.List;

/**
 * The body of {@code POST /v1/chat/completions} as OpenAI defines it. Fields OpenAI allows
 * in several shapes (content, stop) stay {@link JsonNode} and are checked by
 * {@link ChatRequestMapper}, which can then name the field in its error. Unknown fields
 * are ignored, as SDKs send fields this gateway does not use yet. {@code top_k} and
 * {@code ignore_eos} are vLLM's extensions of the API (sent by SDKs as extra body fields),
 * accepted so that clients written for vLLM's own server work unchanged. Function calling
 * ({@code tools}, {@code tool_choice}, {@code parallel_tool_calls}, tool turns in messages) is
 * checked and mapped by the tools package.
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
        Boolean ignoreEos,
        @ArraySchema(maxItems = ToolDefinitions.MAX_TOOLS, arraySchema = @Schema(description = "Functions the "
                + "model may call; names unique"))
        List<FunctionTool> tools,
        @Schema(description = "'none', 'auto' (the default with tools; only for models whose tool_parser is set, "
                + "see /v1/models), 'required', or {\"type\": \"function\", \"function\": {\"name\"}} naming "
                + "one of the tools; only with tools. 'required' and a named function cannot be combined with "
                + "response_format json_object or json_schema",
                oneOf = {ChatCompletionRequest.ToolChoiceMode.class, ChatCompletionRequest.NamedToolChoice.class})
        JsonNode toolChoice,
        @Schema(description = "Whether the model may call several functions in one answer (default true)")
        Boolean parallelToolCalls) {

    @Schema(name = "ChatCompletionRequestMessage")
    @JsonNaming(PropertyNamingStrategies.SnakeCaseStrategy.class)
    record Message(
            @Schema(requiredMode = REQUIRED, allowableValues = {"system", "developer", "user", "assistant", "tool"})
            String role,
            @Schema(description = "Text, or text parts; null only for assistant turns that carried tool calls",
                    oneOf = {String.class, TextPart[].class})
            JsonNode content,
            @Schema(description = "The speaker's name; in a tool message, the function's (the called function's "
                    + "name when absent)")
            String name,
            @Schema(description = "Assistant messages only: the calls the model made, as its answer returned them")
            List<MessageToolCall> toolCalls,
            @Schema(description = "Tool messages only, and required there: the id of a call in an earlier "
                    + "assistant message's tool_calls")
            String toolCallId) {
    }

    /** tool_choice as a word; documented, read as part of tool_choice. */
    @Schema(name = "ChatCompletionToolChoiceMode", type = "string", allowableValues = {"none", "auto", "required"})
    enum ToolChoiceMode {
        none, auto, required
    }

    /** tool_choice naming the function to call; documented, read as part of tool_choice. */
    @Schema(name = "ChatCompletionNamedToolChoice")
    record NamedToolChoice(@Schema(requiredMode = REQUIRED, allowableValues = "function") String type,
            @Schema(requiredMode = REQUIRED) NamedFunction function) {
    }

    @Schema(name = "ChatCompletionNamedToolChoiceFunction")
    record NamedFunction(@Schema(requiredMode = REQUIRED) String name) {
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
