package io.tianshu.gateway.responses;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.tianshu.gateway.generation.Chunks;
import io.tianshu.inference.v1.FinishReason;
import io.tianshu.inference.v1.GenerateStreamResponse;
import io.tianshu.inference.v1.ToolCallDelta;
import io.tianshu.inference.v1.Usage;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.function.Function;
import org.reactivestreams.Publisher;
import reactor.core.publisher.Flux;
import reactor.core.publisher.Mono;

/**
 * Turns one GenerateStream into the Responses API's typed events, in OpenAI's order:
 * response.created and response.in_progress first; per output item output_item.added, its
 * deltas (output_text.delta, or function_call_arguments.delta) and its done events; finally,
 * once the response is stored, response.completed (or response.incomplete) with the whole
 * Response object. Every event carries the stream's next sequence_number.
 */
final class ResponseEvents implements Chunks<ObjectNode> {

    private static final JsonNodeFactory NODES = JsonNodeFactory.instance;

    private final Turn turn;
    private final Function<ObjectNode, Mono<ObjectNode>> store;
    private String model;
    private int sequence;
    private final List<ObjectNode> output = new ArrayList<>();
    private ObjectNode message; // the open text item, if any
    private final StringBuilder text = new StringBuilder();
    private final List<ObjectNode> calls = new ArrayList<>(); // by the backend's call index
    private final List<StringBuilder> arguments = new ArrayList<>();
    private boolean cut;
    private Usage usage;

    /** @param store keeps the final Response object and gives it back (or keeps nothing, when not stored) */
    ResponseEvents(Turn turn, String requestedModel, Function<ObjectNode, Mono<ObjectNode>> store) {
        this.turn = turn;
        this.model = requestedModel;
        this.store = store;
    }

    @Override
    public Publisher<ObjectNode> opening() {
        ObjectNode response = ResponseBodies.body(turn, model, "in_progress", NODES.arrayNode(), null);
        return Flux.just(event("response.created").set("response", response),
                event("response.in_progress").set("response", response.deepCopy()));
    }

    @Override
    public Publisher<ObjectNode> forMessage(GenerateStreamResponse message) {
        if (!message.getModel().isEmpty()) {
            model = message.getModel();
        }
        if (message.hasUsage()) {
            usage = message.getUsage();
        }
        List<ObjectNode> events = new ArrayList<>();
        if (!message.getText().isEmpty()) {
            openMessage(events);
            text.append(message.getText());
            events.add(itemEvent("response.output_text.delta", this.message).put("content_index", 0)
                    .put("delta", message.getText()).set("logprobs", NODES.arrayNode()));
        }
        for (ToolCallDelta piece : message.getToolCallsList()) {
            if (piece.getIndex() == calls.size()) {
                ObjectNode call = ResponseBodies.functionCall(ItemIds.next("fc"), piece.getId(), piece.getName(), "",
                        "in_progress");
                calls.add(call);
                arguments.add(new StringBuilder());
                output.add(call);
                events.add(event("response.output_item.added").put("output_index", output.indexOf(call))
                        .set("item", call.deepCopy()));
            }
            if (!piece.getArguments().isEmpty()) {
                arguments.get(piece.getIndex()).append(piece.getArguments());
                events.add(itemEvent("response.function_call_arguments.delta", calls.get(piece.getIndex()))
                        .put("delta", piece.getArguments()));
            }
        }
        if (message.getFinishReason() != FinishReason.FINISH_REASON_UNSPECIFIED) {
            cut = message.getFinishReason() == FinishReason.FINISH_REASON_LENGTH;
            if (this.message == null && calls.isEmpty()) {
                openMessage(events); // an empty answer is still one message
            }
            close(events);
        }
        return Flux.fromIterable(events);
    }

    @Override
    public Optional<ObjectNode> onMessage(GenerateStreamResponse message) {
        throw new UnsupportedOperationException("one message makes several events: forMessage");
    }

    @Override
    public Optional<ObjectNode> usageChunk() {
        return Optional.empty();
    }

    @Override
    public Publisher<ObjectNode> closing(boolean includeUsage) {
        ArrayNode items = NODES.arrayNode();
        output.forEach(items::add);
        String status = cut ? "incomplete" : "completed";
        ObjectNode response = ResponseBodies.body(turn, model, status, items, usage);
        return store.apply(response).map(stored -> event(cut ? "response.incomplete" : "response.completed")
                .set("response", stored));
    }

    private void openMessage(List<ObjectNode> events) {
        if (message != null) {
            return;
        }
        message = NODES.objectNode().put("id", ItemIds.next("msg")).put("type", "message").put("role", "assistant")
                .put("status", "in_progress");
        message.putArray("content");
        // Text comes before any call, as in the unary answer.
        output.add(0, message);
        events.add(event("response.output_item.added").put("output_index", 0).set("item", message.deepCopy()));
        events.add(itemEvent("response.content_part.added", message).put("content_index", 0)
                .set("part", ResponseBodies.textPart("")));
    }

    private void close(List<ObjectNode> events) {
        String status = cut ? "incomplete" : "completed";
        if (message != null) {
            ObjectNode part = ResponseBodies.textPart(text.toString());
            events.add(itemEvent("response.output_text.done", message).put("content_index", 0)
                    .put("text", text.toString()).set("logprobs", NODES.arrayNode()));
            events.add(itemEvent("response.content_part.done", message).put("content_index", 0).set("part", part));
            message.put("status", status);
            ((ArrayNode) message.get("content")).add(part.deepCopy());
            events.add(event("response.output_item.done").put("output_index", output.indexOf(message))
                    .set("item", message.deepCopy()));
        }
        for (int i = 0; i < calls.size(); i++) {
            ObjectNode call = calls.get(i);
            call.put("arguments", arguments.get(i).toString()).put("status", status);
            events.add(itemEvent("response.function_call_arguments.done", call)
                    .put("name", call.get("name").asText()).put("arguments", arguments.get(i).toString()));
            events.add(event("response.output_item.done").put("output_index", output.indexOf(call))
                    .set("item", call.deepCopy()));
        }
    }

    private ObjectNode itemEvent(String type, JsonNode item) {
        return event(type).put("item_id", item.get("id").asText()).put("output_index", output.indexOf(item));
    }

    private ObjectNode event(String type) {
        return NODES.objectNode().put("type", type).put("sequence_number", sequence++);
    }
}
