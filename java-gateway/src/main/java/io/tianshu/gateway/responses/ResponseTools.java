package io.tianshu.gateway.responses;

import static io.tianshu.gateway.error.ApiException.invalidRequest;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.tianshu.gateway.error.ApiException;
import io.tianshu.gateway.tools.FunctionTool;
import io.tianshu.gateway.tools.ToolDefinitions;
import io.tianshu.inference.v1.Generation;
import java.util.ArrayList;
import java.util.List;

/**
 * The Responses API's function tools and tool_choice on a generation. Responses write a tool
 * flat ({@code {"type": "function", "name", "parameters"}}) where chat nests it under
 * {@code function}; they are read into the chat shape and checked by the same
 * {@link ToolDefinitions}, and a refusal names the field as the Responses caller wrote it.
 */
final class ResponseTools {

    private static final JsonNodeFactory NODES = JsonNodeFactory.instance;

    private ResponseTools() {
    }

    /** @return the mapped tools, applied to the generation */
    static ToolDefinitions.Mapped apply(ResponseRequest request, Generation.Builder generation) {
        JsonNode tools = request.tools();
        if (tools != null && !tools.isNull() && !tools.isArray()) {
            throw invalidRequest("'tools' must be an array of tools.", "tools");
        }
        List<FunctionTool> asChat = new ArrayList<>();
        for (int i = 0; tools != null && i < tools.size(); i++) {
            asChat.add(asChat(tools.get(i), "tools[" + i + "]"));
        }
        ToolDefinitions.Mapped mapped;
        try {
            mapped = ToolDefinitions.map(asChat, choiceAsChat(request.toolChoice()), request.parallelToolCalls());
        } catch (ApiException refused) {
            String param = refused.param() == null ? null : refused.param().replace(".function.", ".")
                    .replace("tool_choice.function.name", "tool_choice.name");
            throw refused.reworded(refused.getMessage().replace(".function.", ".")
                    .replace("\"function\": {\"name\": \"...\"}", "\"name\": \"...\""), param);
        }
        mapped.applyTo(generation);
        return mapped;
    }

    private static FunctionTool asChat(JsonNode tool, String param) {
        if (!tool.isObject()) {
            throw invalidRequest("Invalid type for '" + param + "': expected an object.", param);
        }
        String type = tool.path("type").asText(null);
        if (!"function".equals(type)) {
            throw invalidRequest("Invalid value for '" + param + ".type': '" + type + "'. Supported values are: "
                    + "'function'.", param + ".type");
        }
        JsonNode name = tool.get("name");
        return new FunctionTool(type, new FunctionTool.Function(name == null || !name.isTextual() ? null : name.asText(),
                tool.path("description").isTextual() ? tool.get("description").asText() : null,
                tool.get("parameters"), null));
    }

    /** {"type": "function", "name"} as chat's {"type": "function", "function": {"name"}}. */
    private static JsonNode choiceAsChat(JsonNode choice) {
        if (choice == null || !choice.isObject() || !choice.has("name")) {
            return choice;
        }
        ObjectNode chat = NODES.objectNode();
        chat.set("type", choice.get("type"));
        chat.putObject("function").set("name", choice.get("name"));
        return chat;
    }
}
