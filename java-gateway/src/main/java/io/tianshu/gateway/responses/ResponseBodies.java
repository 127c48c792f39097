package io.tianshu.gateway.responses;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.tianshu.inference.v1.Choice;
import io.tianshu.inference.v1.FinishReason;
import io.tianshu.inference.v1.GenerateResponse;
import io.tianshu.inference.v1.ToolCall;
import io.tianshu.inference.v1.Usage;
import java.time.Instant;

/** The Response object (OpenAI's shape) and its output items, as returned, streamed and stored. */
final class ResponseBodies {

    private static final JsonNodeFactory NODES = JsonNodeFactory.instance;

    private ResponseBodies() {
    }

    /** A whole answer's Response object. */
    static ObjectNode of(Turn turn, GenerateResponse response, String requestedModel) {
        Choice choice = response.getChoices(0);
        boolean cut = choice.getFinishReason() == FinishReason.FINISH_REASON_LENGTH;
        ArrayNode output = NODES.arrayNode();
        if (!choice.getText().isEmpty() || choice.getToolCallsCount() == 0) {
            output.add(message(ItemIds.next("msg"), choice.getText(), cut ? "incomplete" : "completed"));
        }
        for (ToolCall call : choice.getToolCallsList()) {
            output.add(functionCall(ItemIds.next("fc"), call.getId(), call.getName(), call.getArguments(),
                    cut ? "incomplete" : "completed"));
        }
        String model = response.getModel().isEmpty() ? requestedModel : response.getModel();
        return body(turn, model, cut ? "incomplete" : "completed", output, response.getUsage());
    }

    /**
     * The Response object in any state: "in_progress" (no usage yet), "completed" or
     * "incomplete" (cut at max_output_tokens).
     */
    static ObjectNode body(Turn turn, String model, String status, ArrayNode output, Usage usage) {
        ResponseRequest request = turn.request();
        ObjectNode body = NODES.objectNode()
                .put("id", turn.id())
                .put("object", "response")
                .put("created_at", turn.createdAt())
                .put("status", status);
        if (!status.equals("in_progress")) {
            body.put("completed_at", Instant.now().getEpochSecond());
        }
        body.putNull("error");
        if (status.equals("incomplete")) {
            body.putObject("incomplete_details").put("reason", "max_output_tokens");
        } else {
            body.putNull("incomplete_details");
        }
        body.put("instructions", request.instructions());
        body.put("max_output_tokens", request.maxOutputTokens());
        body.put("model", model);
        body.set("output", output);
        body.put("parallel_tool_calls", !Boolean.FALSE.equals(request.parallelToolCalls()));
        body.put("previous_response_id", request.previousResponseId());
        body.put("store", request.stored());
        body.put("temperature", request.temperature());
        body.put("top_p", request.topP());
        body.set("text", textConfig(request.text()));
        body.set("tool_choice", request.toolChoice() == null ? NODES.textNode("auto") : request.toolChoice());
        body.set("tools", request.tools() == null ? NODES.arrayNode() : request.tools());
        body.set("metadata", request.metadata() == null ? NODES.objectNode() : request.metadata());
        body.put("user", request.user());
        if (usage == null) {
            body.putNull("usage");
        } else {
            ObjectNode counts = body.putObject("usage").put("input_tokens", usage.getPromptTokens());
            counts.putObject("input_tokens_details").put("cached_tokens", 0).put("cache_write_tokens", 0);
            counts.put("output_tokens", usage.getCompletionTokens());
            counts.putObject("output_tokens_details").put("reasoning_tokens", 0);
            counts.put("total_tokens", usage.getTotalTokens());
        }
        return body;
    }

    static ObjectNode message(String id, String text, String status) {
        ObjectNode message = NODES.objectNode().put("id", id).put("type", "message").put("role", "assistant")
                .put("status", status);
        message.putArray("content").add(textPart(text));
        return message;
    }

    static ObjectNode textPart(String text) {
        ObjectNode part = NODES.objectNode().put("type", "output_text").put("text", text);
        part.putArray("annotations");
        return part;
    }

    static ObjectNode functionCall(String id, String callId, String name, String arguments, String status) {
        return NODES.objectNode().put("id", id).put("type", "function_call").put("call_id", callId)
                .put("name", name).put("arguments", arguments).put("status", status);
    }

    private static JsonNode textConfig(JsonNode text) {
        if (text != null && text.has("format")) {
            return text;
        }
        ObjectNode config = NODES.objectNode();
        config.putObject("format").put("type", "text");
        return config;
    }
}
