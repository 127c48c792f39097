package io.tianshu.gateway.responses;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.tianshu.gateway.error.ApiException;
import io.tianshu.inference.v1.ChatMessage;
import io.tianshu.inference.v1.ToolCall;
import java.util.List;
import org.junit.jupiter.api.Test;

class ResponseInputsTest {

    private static final ObjectMapper JSON = new ObjectMapper();

    private static JsonNode json(String text) throws Exception {
        return JSON.readTree(text);
    }

    @Test
    void textInputIsOneUserMessageWithIdsAndTypedParts() throws Exception {
        var items = ResponseInputs.items(json("\"Hi\""));

        assertThat(items).hasSize(1);
        assertThat(items.get(0).get("id").asText()).startsWith("msg_");
        assertThat(items.get(0).get("content").get(0).get("type").asText()).isEqualTo("input_text");
        assertThat(ResponseInputs.chat("Be brief.", List.of(), items)).containsExactly(
                ChatMessage.newBuilder().setRole("system").setContent("Be brief.").build(),
                ChatMessage.newBuilder().setRole("user").setContent("Hi").build());
    }

    @Test
    void anAnswersTextAndTheCallsAfterItAreOneAssistantTurnAnsweredByToolTurns() throws Exception {
        var history = List.of(
                json("{\"type\":\"message\",\"role\":\"user\",\"content\":[{\"type\":\"input_text\",\"text\":\"Q\"}]}"),
                json("{\"type\":\"message\",\"role\":\"assistant\",\"content\":[{\"type\":\"output_text\","
                        + "\"text\":\"Let me look.\"}]}"),
                json("{\"type\":\"function_call\",\"call_id\":\"call_1\",\"name\":\"f\",\"arguments\":\"{}\"}"),
                json("{\"type\":\"function_call\",\"call_id\":\"call_2\",\"name\":\"g\",\"arguments\":\"{}\"}"));
        var items = ResponseInputs.items(json("[{\"type\":\"function_call_output\",\"call_id\":\"call_2\","
                + "\"output\":\"two\"},{\"type\":\"function_call_output\",\"call_id\":\"call_1\",\"output\":\"one\"}]"));

        List<ChatMessage> chat = ResponseInputs.chat(null, history, items);

        assertThat(chat).extracting(ChatMessage::getRole).containsExactly("user", "assistant", "tool", "tool");
        assertThat(chat.get(1).getContent()).isEqualTo("Let me look.");
        assertThat(chat.get(1).getToolCallsList()).extracting(ToolCall::getId).containsExactly("call_1", "call_2");
        assertThat(chat.get(2).getToolCallId()).isEqualTo("call_2");
        assertThat(chat.get(3).getContent()).isEqualTo("one");
    }

    @Test
    void anOutputForNoEarlierCallIsRefusedNamingItsItem() throws Exception {
        var items = ResponseInputs.items(json("[{\"role\":\"user\",\"content\":\"Q\"},"
                + "{\"type\":\"function_call_output\",\"call_id\":\"call_9\",\"output\":\"x\"}]"));

        assertThatThrownBy(() -> ResponseInputs.chat(null, List.of(), items))
                .isInstanceOfSatisfying(ApiException.class, e -> assertThat(e.param()).isEqualTo("input[1].call_id"));
    }

    @Test
    void unsupportedItemsAndPartsAreRefusedNamingTheField() {
        assertThatThrownBy(() -> ResponseInputs.items(json("[{\"type\":\"item_reference\",\"id\":\"x\"}]")))
                .isInstanceOfSatisfying(ApiException.class, e -> assertThat(e.param()).isEqualTo("input[0].type"));
        assertThatThrownBy(() -> ResponseInputs.items(json("[{\"role\":\"user\",\"content\":[{\"type\":"
                + "\"input_image\",\"image_url\":\"u\"}]}]")))
                .isInstanceOfSatisfying(ApiException.class,
                        e -> assertThat(e.param()).isEqualTo("input[0].content[0]"));
        assertThatThrownBy(() -> ResponseInputs.items(json("[{\"type\":\"function_call\",\"call_id\":\"c\","
                + "\"name\":\"bad name\",\"arguments\":\"{}\"}]")))
                .isInstanceOfSatisfying(ApiException.class, e -> assertThat(e.param()).isEqualTo("input[0].name"));
    }
}
