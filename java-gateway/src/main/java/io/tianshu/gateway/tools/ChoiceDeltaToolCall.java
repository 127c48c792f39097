package io.tianshu.gateway.tools;

import com.fasterxml.jackson.annotation.JsonInclude;
import io.tianshu.inference.v1.ToolCallDelta;
import java.util.List;

/**
 * A piece of a call in a streamed answer's {@code delta.tool_calls}, in OpenAI's shape: the
 * first piece of a call {@code {"index", "id", "type": "function", "function": {"name",
 * "arguments": ""}}}, each later one {@code {"index", "function": {"arguments": "<fragment>"}}}.
 * Absent fields are left out, as OpenAI does; clients join the fragments by index.
 */
@JsonInclude(JsonInclude.Include.NON_NULL)
public record ChoiceDeltaToolCall(int index, String id, String type, Function function) {

    @JsonInclude(JsonInclude.Include.NON_NULL)
    public record Function(String name, String arguments) {
    }

    /** The pieces, or null when the message has none. */
    public static List<ChoiceDeltaToolCall> of(List<ToolCallDelta> pieces) {
        return pieces.isEmpty() ? null : pieces.stream().map(ChoiceDeltaToolCall::of).toList();
    }

    private static ChoiceDeltaToolCall of(ToolCallDelta piece) {
        // The contract sets id and name in a call's first piece only.
        boolean first = !piece.getId().isEmpty();
        return new ChoiceDeltaToolCall(piece.getIndex(), first ? piece.getId() : null, first ? "function" : null,
                new Function(first ? piece.getName() : null, piece.getArguments()));
    }
}
