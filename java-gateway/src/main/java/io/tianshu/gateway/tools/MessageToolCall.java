package io.tianshu.gateway.tools;

import static io.swagger.v3.oas.annotations.media.Schema.RequiredMode.REQUIRED;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.TextNode;
import io.swagger.v3.oas.annotations.media.Schema;
import io.tianshu.inference.v1.ToolCall;
import java.util.List;

/**
 * A call the model made, in OpenAI's shape {@code {"id", "type": "function", "function": {"name",
 * "arguments"}}}: in an answer's {@code message.tool_calls}, and as the caller sends it back in
 * an assistant message of a later request. {@code arguments} is JSON text; it is read as any
 * JSON so that a value other than a string is refused by {@link ToolTurns} in the API's words.
 */
@Schema(name = "ChatCompletionMessageToolCall")
public record MessageToolCall(
        @Schema(requiredMode = REQUIRED) String id,
        @Schema(requiredMode = REQUIRED, allowableValues = "function") String type,
        @Schema(requiredMode = REQUIRED) Function function) {

    @Schema(name = "ChatCompletionMessageToolCallFunction")
    public record Function(
            @Schema(requiredMode = REQUIRED) String name,
            @Schema(requiredMode = REQUIRED, types = "string", description = "The arguments' JSON text, as the "
                    + "model wrote them; they follow the function's parameters when tool_choice forced the call "
                    + "('required' or a named function)")
            JsonNode arguments) {
    }

    /** The calls, or null when there are none: OpenAI leaves tool_calls out of a plain answer. */
    public static List<MessageToolCall> of(List<ToolCall> calls) {
        return calls.isEmpty() ? null : calls.stream().map(c -> new MessageToolCall(c.getId(), "function",
                new Function(c.getName(), TextNode.valueOf(c.getArguments())))).toList();
    }
}
