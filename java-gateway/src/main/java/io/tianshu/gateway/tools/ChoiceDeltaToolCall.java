package io.tianshu.gateway.tools;

import com.fasterxml.jackson.annotation.JsonInclude;
import io.tianshu.inference.v1.ToolCallDelta;
import java.util.ArrayList;
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

    /**
     * The pieces, or null when the message has none. Pieces of one call in one message (its
     * first piece and the first fragment of its arguments, often) become one entry: clients
     * such as LangChain merge entries across chunks by index, not within one chunk.
     */
    public static List<ChoiceDeltaToolCall> of(List<ToolCallDelta> pieces) {
        if (pieces.isEmpty()) {
            return null;
        }
        List<ChoiceDeltaToolCall> entries = new ArrayList<>();
        for (ToolCallDelta piece : pieces) {
            ChoiceDeltaToolCall entry = of(piece);
            int last = entries.size() - 1;
            if (last >= 0 && entries.get(last).index() == entry.index() && entry.id() == null) {
                ChoiceDeltaToolCall previous = entries.get(last);
                entries.set(last, new ChoiceDeltaToolCall(previous.index(), previous.id(), previous.type(),
                        new Function(previous.function().name(),
                                previous.function().arguments() + entry.function().arguments())));
            } else {
                entries.add(entry);
            }
        }
        return entries;
    }

    private static ChoiceDeltaToolCall of(ToolCallDelta piece) {
        // The contract sets id and name in a call's first piece only.
        boolean first = !piece.getId().isEmpty();
        return new ChoiceDeltaToolCall(piece.getIndex(), first ? piece.getId() : null, first ? "function" : null,
                new Function(first ? piece.getName() : null, piece.getArguments()));
    }
}
