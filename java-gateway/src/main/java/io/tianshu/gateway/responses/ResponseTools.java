package io.tianshu.gateway.responses;

import static io.tianshu.gateway.error.ApiException.invalidRequest;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.tianshu.gateway.error.ApiException;
import io.tianshu.gateway.tools.FunctionTool;
import io.tianshu.gateway.tools.ToolDefinitions;
import io.tianshu.gateway.vectorstores.FileSearchStores;
import io.tianshu.inference.v1.Generation;
import io.tianshu.rag.v1.RetrievalOptions;
import java.util.ArrayList;
import java.util.List;

/**
 * The Responses API's tools and tool_choice on a generation. Responses write a function tool
 * flat ({@code {"type": "function", "name", "parameters"}}) where chat nests it under
 * {@code function}; they are read into the chat shape and checked by the same
 * {@link ToolDefinitions}, and a refusal names the field as the Responses caller wrote it. A
 * {@code file_search} tool becomes a function of the same name taking a search query, which
 * the platform runs itself ({@link FileSearchTurn}).
 */
final class ResponseTools {

    static final String FILE_SEARCH = "file_search";
    private static final JsonNodeFactory NODES = JsonNodeFactory.instance;
    private static final ObjectNode FILE_SEARCH_PARAMETERS = fileSearchParameters();

    /**
     * A file_search tool, checked: the store it searches and the retrieval its options ask for.
     */
    record FileSearch(String storeId, RetrievalOptions options) {
    }

    /** The tools of a generation; fileSearch null when the request has no file_search tool. */
    record Applied(ToolDefinitions.Mapped functions, FileSearch fileSearch) {
    }

    private ResponseTools() {
    }

    static Applied apply(ResponseRequest request, Generation.Builder generation) {
        JsonNode tools = request.tools();
        if (tools != null && !tools.isNull() && !tools.isArray()) {
            throw invalidRequest("'tools' must be an array of tools.", "tools");
        }
        List<FunctionTool> asChat = new ArrayList<>();
        FileSearch fileSearch = null;
        for (int i = 0; tools != null && i < tools.size(); i++) {
            String param = "tools[" + i + "]";
            JsonNode tool = tools.get(i);
            if (tool.isObject() && FILE_SEARCH.equals(tool.path("type").asText())) {
                if (fileSearch != null) {
                    throw invalidRequest("Only one file_search tool is allowed per request.", param);
                }
                fileSearch = fileSearch(tool, param);
                asChat.add(new FunctionTool("function", new FunctionTool.Function(FILE_SEARCH,
                        "Search the user's documents. Call it with a short search query.", FILE_SEARCH_PARAMETERS,
                        null)));
            } else {
                asChat.add(asChat(tool, param));
            }
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
        return new Applied(mapped, fileSearch);
    }

    private static FileSearch fileSearch(JsonNode tool, String param) {
        JsonNode stores = tool.get("vector_store_ids");
        if (stores == null || !stores.isArray() || stores.size() != 1 || !stores.get(0).isTextual()) {
            throw invalidRequest("'" + param + ".vector_store_ids' must list exactly one vector store id: a "
                    + "file_search tool searches one store here.", param + ".vector_store_ids");
        }
        JsonNode max = tool.get("max_num_results");
        if (max != null && !max.isNull() && !max.isInt()) {
            throw invalidRequest("'" + param + ".max_num_results' must be an integer.", param + ".max_num_results");
        }
        JsonNode ranking = tool.path("ranking_options");
        JsonNode threshold = ranking.get("score_threshold");
        if (threshold != null && !threshold.isNull() && !threshold.isNumber()) {
            throw invalidRequest("'" + param + ".ranking_options.score_threshold' must be a number.",
                    param + ".ranking_options.score_threshold");
        }
        try {
            return new FileSearch(stores.get(0).asText(), FileSearchStores.options(
                    max == null || max.isNull() ? null : max.asInt(), tool.get("filters"),
                    threshold == null || threshold.isNull() ? null : threshold.asDouble(),
                    ranking.path("ranker").isTextual() ? ranking.get("ranker").asText() : null));
        } catch (ApiException refused) {
            throw refused.reworded(refused.getMessage(), refused.param() == null ? param : param + "."
                    + refused.param());
        }
    }

    private static FunctionTool asChat(JsonNode tool, String param) {
        if (!tool.isObject()) {
            throw invalidRequest("Invalid type for '" + param + "': expected an object.", param);
        }
        String type = tool.path("type").asText(null);
        if (!"function".equals(type)) {
            throw invalidRequest("Invalid value for '" + param + ".type': '" + type + "'. Supported values are: "
                    + "'function', 'file_search'.", param + ".type");
        }
        JsonNode name = tool.get("name");
        if (name != null && FILE_SEARCH.equals(name.asText())) {
            throw invalidRequest("'" + param + ".name': the name file_search is the file_search tool's.",
                    param + ".name");
        }
        return new FunctionTool(type, new FunctionTool.Function(name == null || !name.isTextual() ? null : name.asText(),
                tool.path("description").isTextual() ? tool.get("description").asText() : null,
                tool.get("parameters"), null));
    }

    /**
     * {"type": "function", "name"} as chat's {"type": "function", "function": {"name"}};
     * {"type": "file_search"} as the function standing for it.
     */
    private static JsonNode choiceAsChat(JsonNode choice) {
        if (choice == null || !choice.isObject()) {
            return choice;
        }
        ObjectNode chat = NODES.objectNode().put("type", "function");
        if (FILE_SEARCH.equals(choice.path("type").asText())) {
            chat.putObject("function").put("name", FILE_SEARCH);
            return chat;
        }
        if (!choice.has("name")) {
            return choice;
        }
        chat.set("type", choice.get("type"));
        chat.putObject("function").set("name", choice.get("name"));
        return chat;
    }

    private static ObjectNode fileSearchParameters() {
        try {
            return (ObjectNode) new ObjectMapper().readTree("{\"type\": \"object\", \"properties\": {\"query\": "
                    + "{\"type\": \"string\", \"description\": \"What to search for\"}}, \"required\": [\"query\"]}");
        } catch (Exception e) {
            throw new IllegalStateException(e);
        }
    }
}
