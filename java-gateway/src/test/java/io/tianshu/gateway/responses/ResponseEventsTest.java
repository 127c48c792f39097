package io.tianshu.gateway.responses;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.tianshu.inference.v1.FinishReason;
import io.tianshu.inference.v1.GenerateStreamResponse;
import io.tianshu.inference.v1.ToolCallDelta;
import io.tianshu.inference.v1.Usage;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.Test;
import reactor.core.publisher.Flux;
import reactor.core.publisher.Mono;

class ResponseEventsTest {

    private final AtomicReference<ObjectNode> stored = new AtomicReference<>();
    private final Turn turn = new Turn("resp_1", 1, new ResponseRequest("m", null, null, null, null, null, null, null,
            null, null, null, null, true, null, null), JsonNodeFactory.instance.arrayNode(), "t");
    private final ResponseEvents events = new ResponseEvents(turn, "m", body -> {
        stored.set(body);
        return Mono.just(body);
    });

    private List<ObjectNode> run(GenerateStreamResponse... messages) {
        List<ObjectNode> all = new ArrayList<>(Flux.from(events.opening()).collectList().block());
        for (GenerateStreamResponse message : messages) {
            all.addAll(Flux.from(events.forMessage(message)).collectList().block());
        }
        all.addAll(Flux.from(events.closing(false)).collectList().block());
        return all;
    }

    private static List<String> types(List<ObjectNode> events) {
        return events.stream().map(e -> e.get("type").asText()).toList();
    }

    @Test
    void textArrivesAsDeltasOfOneMessageItemAndTheStoredResponseClosesTheStream() {
        var all = run(GenerateStreamResponse.newBuilder().setText("Par").build(),
                GenerateStreamResponse.newBuilder().setText("is").setFinishReason(FinishReason.FINISH_REASON_STOP)
                        .setUsage(Usage.newBuilder().setPromptTokens(3).setCompletionTokens(2).setTotalTokens(5))
                        .build());

        assertThat(types(all)).containsExactly("response.created", "response.in_progress",
                "response.output_item.added", "response.content_part.added", "response.output_text.delta",
                "response.output_text.delta", "response.output_text.done", "response.content_part.done",
                "response.output_item.done", "response.completed");
        assertThat(all).extracting(e -> e.get("sequence_number").asInt()).containsExactly(0, 1, 2, 3, 4, 5, 6, 7, 8, 9);
        var completed = all.get(all.size() - 1).get("response");
        assertThat(completed).isEqualTo(stored.get());
        assertThat(completed.at("/output/0/content/0/text").asText()).isEqualTo("Paris");
        assertThat(completed.at("/usage/total_tokens").asInt()).isEqualTo(5);
        assertThat(all.get(4).get("item_id").asText()).isEqualTo(completed.at("/output/0/id").asText());
    }

    @Test
    void callsAreItemsOfTheirOwnWithArgumentDeltasAndACutAnswerIsIncomplete() {
        var all = run(GenerateStreamResponse.newBuilder()
                        .addToolCalls(ToolCallDelta.newBuilder().setIndex(0).setId("call_1").setName("f"))
                        .addToolCalls(ToolCallDelta.newBuilder().setIndex(0).setArguments("{\"a\"")).build(),
                GenerateStreamResponse.newBuilder()
                        .addToolCalls(ToolCallDelta.newBuilder().setIndex(0).setArguments(":1"))
                        .setFinishReason(FinishReason.FINISH_REASON_LENGTH).build());

        assertThat(types(all)).containsExactly("response.created", "response.in_progress",
                "response.output_item.added", "response.function_call_arguments.delta",
                "response.function_call_arguments.delta", "response.function_call_arguments.done",
                "response.output_item.done", "response.incomplete");
        var response = all.get(all.size() - 1).get("response");
        assertThat(response.get("status").asText()).isEqualTo("incomplete");
        assertThat(response.at("/incomplete_details/reason").asText()).isEqualTo("max_output_tokens");
        assertThat(response.at("/output/0/call_id").asText()).isEqualTo("call_1");
        assertThat(response.at("/output/0/arguments").asText()).isEqualTo("{\"a\":1");
    }
}
