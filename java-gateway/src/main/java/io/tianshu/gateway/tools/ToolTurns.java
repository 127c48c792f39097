package io.tianshu.gateway.tools;

import static io.tianshu.gateway.error.ApiException.invalidRequest;

import com.fasterxml.jackson.databind.JsonNode;
import io.tianshu.inference.v1.ToolCall;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * The tool turns of one conversation, read in order: the calls of each assistant message
 * (checked and kept by id) and the tool messages answering them, each of which must quote the
 * id of a call made earlier. One instance per request.
 */
public final class ToolTurns {

    // Call id -> the function it called, for the tool messages that follow.
    private final Map<String, String> calls = new HashMap<>();

    /**
     * An assistant message's {@code tool_calls}, checked.
     *
     * @param param where the caller wrote them ("messages[1].tool_calls")
     */
    public List<ToolCall> assistantCalls(List<MessageToolCall> toolCalls, String param) {
        List<ToolCall> mapped = new ArrayList<>(toolCalls.size());
        for (int i = 0; i < toolCalls.size(); i++) {
            mapped.add(call(toolCalls.get(i), param + "[" + i + "]"));
        }
        mapped.forEach(call -> calls.put(call.getId(), call.getName()));
        return mapped;
    }

    /**
     * Checks a tool message's {@code tool_call_id} against the calls read so far.
     *
     * @param param where the caller wrote it ("messages[2].tool_call_id")
     * @return the name of the function whose result the message carries
     */
    public String answeredCall(String toolCallId, String param) {
        if (toolCallId == null || toolCallId.isEmpty()) {
            throw invalidRequest("Missing required parameter: '" + param + "'.", param);
        }
        String function = calls.get(toolCallId);
        if (function == null) {
            throw invalidRequest("Invalid '" + param + "': '" + toolCallId + "' is not the id of a tool call in an "
                    + "earlier assistant message's 'tool_calls'.", param);
        }
        return function;
    }

    private static ToolCall call(MessageToolCall call, String param) {
        if (call == null) {
            throw invalidRequest("Invalid type for '" + param + "': expected an object.", param);
        }
        required(call.id(), param + ".id");
        required(call.type(), param + ".type");
        if (!call.type().equals("function")) {
            throw invalidRequest("Invalid value for '" + param + ".type': '" + call.type()
                    + "'. Supported values are: 'function'.", param + ".type");
        }
        if (call.function() == null) {
            throw invalidRequest("Missing required parameter: '" + param + ".function'.", param + ".function");
        }
        required(call.function().name(), param + ".function.name");
        JsonNode arguments = call.function().arguments();
        String argumentsParam = param + ".function.arguments";
        if (arguments == null || arguments.isNull()) {
            throw invalidRequest("Missing required parameter: '" + argumentsParam + "'.", argumentsParam);
        }
        if (!arguments.isTextual()) {
            throw invalidRequest("Invalid type for '" + argumentsParam + "': expected a string (the arguments' "
                    + "JSON text, as the model returned it).", argumentsParam);
        }
        return ToolCall.newBuilder().setId(call.id()).setName(call.function().name())
                .setArguments(arguments.asText()).build();
    }

    private static void required(String value, String param) {
        if (value == null || value.isEmpty()) {
            throw invalidRequest("Missing required parameter: '" + param + "'.", param);
        }
    }
}
