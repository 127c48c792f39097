package io.tianshu.gateway.batches;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.google.protobuf.Timestamp;
import io.tianshu.inference.v1.Choice;
import io.tianshu.inference.v1.FinishReason;
import io.tianshu.inference.v1.GenerateResponse;
import io.tianshu.inference.v1.ToolCall;
import io.tianshu.inference.v1.Usage;
import io.tianshu.jobs.v1.BatchItemResult;
import org.junit.jupiter.api.Test;

/** A batch line that called tools reads like the chat route's answer that did. */
class BatchResultLinesTest {

    private static final ObjectMapper JSON = new ObjectMapper();

    @Test
    void aLineThatCalledToolsCarriesTheCallsInOpenAisShape() throws Exception {
        BatchItemResult result = BatchItemResult.newBuilder().setBatchId("batch_1").setCustomId("a")
                .setStatusCode(200).setFinishedAt(Timestamp.newBuilder().setSeconds(1_700_000_000))
                .setGeneration(GenerateResponse.newBuilder().setModel("tiny-chat")
                        .addChoices(Choice.newBuilder().setIndex(0).setFinishReason(FinishReason.FINISH_REASON_TOOL_CALLS)
                                .addToolCalls(ToolCall.newBuilder().setId("call_1").setName("get_weather")
                                        .setArguments("{\"city\": \"Paris\"}")))
                        .setUsage(Usage.newBuilder().setPromptTokens(30).setCompletionTokens(9).setTotalTokens(39)))
                .build();

        JsonNode choice = JSON.readTree(BatchResultLines.line(result, JSON)).at("/response/body/choices/0");

        assertThat(choice.get("finish_reason").asText()).isEqualTo("tool_calls");
        assertThat(choice.get("message").toString()).isEqualTo("{\"role\":\"assistant\",\"content\":null,"
                + "\"tool_calls\":[{\"id\":\"call_1\",\"type\":\"function\",\"function\":{\"name\":\"get_weather\","
                + "\"arguments\":\"{\\\"city\\\": \\\"Paris\\\"}\"}}]}");
    }
}
