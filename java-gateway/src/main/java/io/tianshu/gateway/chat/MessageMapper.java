package io.tianshu.gateway.chat;

import static io.tianshu.gateway.error.ApiException.invalidRequest;

import com.fasterxml.jackson.databind.JsonNode;
import io.tianshu.gateway.tools.ToolTurns;
import io.tianshu.inference.v1.ChatMessage;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;

/** OpenAI chat messages to proto messages; part of {@link ChatRequestMapper}'s validation. */
final class MessageMapper {

    private static final Set<String> ROLES = Set.of("system", "developer", "user", "assistant", "tool");

    private MessageMapper() {
    }

    /** @param turns the conversation's tool calls so far, which a tool message must answer */
    static ChatMessage message(ChatCompletionRequest.Message message, String param, ToolTurns turns) {
        if (message == null) {
            throw invalidRequest("'" + param + "' must be an object with 'role' and 'content'.", param);
        }
        if (message.role() == null) {
            throw invalidRequest("Missing required parameter: '" + param + ".role'.", param + ".role");
        }
        if (!ROLES.contains(message.role())) {
            throw invalidRequest("Invalid value for '" + param + ".role': '" + message.role()
                    + "'. Supported values are: system, developer, user, assistant, tool.", param + ".role");
        }
        ChatMessage.Builder mapped = ChatMessage.newBuilder()
                .setRole(message.role())
                .setContent(content(message.content(), param + ".content"));
        if (message.name() != null) {
            mapped.setName(message.name());
        }
        if (message.toolCalls() != null && !message.toolCalls().isEmpty()) {
            if (!message.role().equals("assistant")) {
                throw invalidRequest("Invalid parameter: only assistant messages may have 'tool_calls' ('" + param
                        + ".tool_calls' is in a " + message.role() + " message).", param + ".tool_calls");
            }
            mapped.addAllToolCalls(turns.assistantCalls(message.toolCalls(), param + ".tool_calls"));
        }
        if (message.role().equals("tool")) {
            String function = turns.answeredCall(message.toolCallId(), param + ".tool_call_id");
            mapped.setToolCallId(message.toolCallId());
            if (message.name() == null) {
                // Templates that name the function a result came from read it here.
                mapped.setName(function);
            }
        } else if (message.toolCallId() != null) {
            throw invalidRequest("Invalid parameter: only tool messages may have 'tool_call_id' ('" + param
                    + ".tool_call_id' is in a " + message.role() + " message).", param + ".tool_call_id");
        }
        return mapped.build();
    }

    /** OpenAI content is a string or a list of parts; only text parts can reach a text model. */
    private static String content(JsonNode content, String param) {
        if (content == null || content.isNull()) {
            return ""; // assistant turns that only carried tool calls
        }
        if (content.isTextual()) {
            return content.asText();
        }
        if (!content.isArray()) {
            throw invalidRequest("Invalid type for '" + param + "': expected a string or an array of content parts.", param);
        }
        List<String> texts = new ArrayList<>();
        for (int i = 0; i < content.size(); i++) {
            JsonNode part = content.get(i);
            String partParam = param + "[" + i + "]";
            if (!part.isObject() || !"text".equals(part.path("type").asText()) || !part.path("text").isTextual()) {
                throw invalidRequest("Invalid content part '" + partParam
                        + "': only {\"type\": \"text\", \"text\": \"...\"} parts are supported.", partParam);
            }
            texts.add(part.get("text").asText());
        }
        return String.join("\n", texts);
    }
}
