package io.tianshu.gateway.responses;

import static io.tianshu.gateway.error.ApiException.invalidRequest;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.tianshu.inference.v1.ChatMessage;
import io.tianshu.inference.v1.ToolCall;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.regex.Pattern;

/**
 * A Responses request's input as items, and the chat the model continues. Items are stored in
 * the shape {@code input_items} lists them (each with an id, text parts typed), so a stored
 * conversation and a new turn read the same way: messages become chat messages, consecutive
 * function_call items the tool calls of one assistant turn, function_call_output items tool
 * turns answering them.
 */
final class ResponseInputs {

    private static final JsonNodeFactory NODES = JsonNodeFactory.instance;
    private static final Set<String> ROLES = Set.of("user", "assistant", "system", "developer");
    private static final Pattern FUNCTION_NAME = Pattern.compile("[A-Za-z0-9_-]{1,64}");

    private ResponseInputs() {
    }

    /** This turn's input, checked and normalised. */
    static ArrayNode items(JsonNode input) {
        if (input == null || input.isNull()) {
            throw invalidRequest("Missing required parameter: 'input'.", "input");
        }
        ArrayNode items = NODES.arrayNode();
        if (input.isTextual()) {
            items.add(message("user", input, "input"));
            return items;
        }
        if (!input.isArray() || input.isEmpty()) {
            throw invalidRequest("'input' must be a string or a non-empty array of input items.", "input");
        }
        for (int i = 0; i < input.size(); i++) {
            items.add(item(input.get(i), "input[" + i + "]"));
        }
        return items;
    }

    /**
     * The chat for the model: this turn's instructions as its system message, the stored
     * conversation, then this turn's items.
     *
     * @throws io.tianshu.gateway.error.ApiException when a function_call_output answers no call
     */
    static List<ChatMessage> chat(String instructions, List<JsonNode> conversation, ArrayNode items) {
        List<ChatMessage> chat = new ArrayList<>();
        if (instructions != null && !instructions.isEmpty()) {
            chat.add(ChatMessage.newBuilder().setRole("system").setContent(instructions).build());
        }
        Set<String> calls = new HashSet<>();
        ChatMessage.Builder assistant = null;
        List<JsonNode> all = new ArrayList<>(conversation);
        items.forEach(all::add);
        for (int i = 0; i < all.size(); i++) {
            JsonNode item = all.get(i);
            String type = item.path("type").asText();
            if (type.equals("function_call")) {
                if (assistant == null) {
                    assistant = ChatMessage.newBuilder().setRole("assistant");
                }
                calls.add(item.path("call_id").asText());
                assistant.addToolCalls(ToolCall.newBuilder().setId(item.path("call_id").asText())
                        .setName(item.path("name").asText()).setArguments(item.path("arguments").asText()));
                continue;
            }
            if (assistant != null) {
                chat.add(assistant.build());
                assistant = null;
            }
            if (type.equals("function_call_output")) {
                String callId = item.path("call_id").asText();
                if (!calls.contains(callId)) {
                    int index = i - conversation.size();
                    throw invalidRequest("No function call with call_id '" + callId + "' precedes this "
                            + "function_call_output.", "input[" + index + "].call_id");
                }
                chat.add(ChatMessage.newBuilder().setRole("tool").setToolCallId(callId)
                        .setContent(item.path("output").asText()).build());
                continue;
            }
            String role = item.path("role").asText();
            String text = text(item.path("content"));
            if (role.equals("assistant")) {
                // An answer's text and the calls that follow it are one assistant turn.
                assistant = ChatMessage.newBuilder().setRole("assistant").setContent(text);
            } else {
                chat.add(ChatMessage.newBuilder().setRole(role).setContent(text).build());
            }
        }
        if (assistant != null) {
            chat.add(assistant.build());
        }
        return chat;
    }

    private static String text(JsonNode parts) {
        StringBuilder text = new StringBuilder();
        parts.forEach(part -> text.append(part.path("text").asText()));
        return text.toString();
    }

    private static ObjectNode item(JsonNode item, String param) {
        if (!item.isObject()) {
            throw invalidRequest("'" + param + "' must be an input item object.", param);
        }
        String type = item.path("type").asText(item.has("role") ? "message" : "");
        return switch (type) {
            case "message" -> {
                String role = item.path("role").asText();
                if (!ROLES.contains(role)) {
                    throw invalidRequest("Invalid value for '" + param + ".role': '" + role
                            + "'. Supported values are: user, assistant, system, developer.", param + ".role");
                }
                yield message(role, item.get("content"), param + ".content");
            }
            case "function_call" -> {
                ObjectNode call = NODES.objectNode().put("id", ItemIds.next("fc")).put("type", "function_call");
                call.put("call_id", required(item, "call_id", param));
                String name = required(item, "name", param);
                if (!FUNCTION_NAME.matcher(name).matches()) {
                    throw invalidRequest("'" + param + ".name' must be 1-64 letters, digits, _ or -.", param + ".name");
                }
                call.put("name", name).put("arguments", required(item, "arguments", param));
                yield call.put("status", "completed");
            }
            case "function_call_output" -> {
                ObjectNode output = NODES.objectNode().put("id", ItemIds.next("fco"))
                        .put("type", "function_call_output").put("call_id", required(item, "call_id", param));
                JsonNode value = item.get("output");
                String text = value != null && value.isArray() ? text(parts(value, "input_text", param + ".output"))
                        : value != null && value.isTextual() ? value.asText() : null;
                if (text == null) {
                    throw invalidRequest("'" + param + ".output' must be a string or text parts.", param + ".output");
                }
                yield output.put("output", text).put("status", "completed");
            }
            case "" -> throw invalidRequest("'" + param + "' needs a 'type' or a 'role'.", param);
            default -> throw invalidRequest("Input items of type '" + type + "' are not supported; this gateway "
                    + "reads message, function_call and function_call_output items.", param + ".type");
        };
    }

    private static ObjectNode message(String role, JsonNode content, String param) {
        String partType = role.equals("assistant") ? "output_text" : "input_text";
        ArrayNode parts;
        if (content != null && content.isTextual()) {
            parts = NODES.arrayNode().add(textPart(partType, content.asText()));
        } else if (content != null && content.isArray()) {
            parts = parts(content, partType, param);
        } else {
            throw invalidRequest("'" + param + "' must be a string or a list of text parts.", param);
        }
        ObjectNode message = NODES.objectNode().put("id", ItemIds.next("msg")).put("type", "message")
                .put("role", role).put("status", "completed");
        message.set("content", parts);
        return message;
    }

    private static ArrayNode parts(JsonNode content, String partType, String param) {
        ArrayNode parts = NODES.arrayNode();
        for (int i = 0; i < content.size(); i++) {
            JsonNode part = content.get(i);
            String type = part.path("type").asText();
            if (!(type.equals("input_text") || type.equals("output_text") || type.equals("text"))
                    || !part.path("text").isTextual()) {
                throw invalidRequest("Invalid content part '" + param + "[" + i + "]': only text parts "
                        + "({\"type\": \"input_text\", \"text\": \"...\"}) are supported.", param + "[" + i + "]");
            }
            parts.add(textPart(partType, part.get("text").asText()));
        }
        return parts;
    }

    private static ObjectNode textPart(String type, String text) {
        ObjectNode part = NODES.objectNode().put("type", type).put("text", text);
        if (type.equals("output_text")) {
            part.set("annotations", NODES.arrayNode());
        }
        return part;
    }

    private static String required(JsonNode item, String field, String param) {
        JsonNode value = item.get(field);
        if (value == null || !value.isTextual() || value.asText().isEmpty()) {
            throw invalidRequest("Missing required parameter: '" + param + "." + field + "'.", param + "." + field);
        }
        return value.asText();
    }
}
