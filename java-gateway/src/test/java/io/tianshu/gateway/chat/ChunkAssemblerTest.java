package io.tianshu.gateway.chat;

import static org.assertj.core.api.Assertions.assertThat;

import io.tianshu.inference.v1.FinishReason;
import io.tianshu.inference.v1.GenerateStreamResponse;
import io.tianshu.gateway.tools.ChoiceDeltaToolCall;
import io.tianshu.inference.v1.TokenLogprob;
import io.tianshu.inference.v1.ToolCallDelta;
import io.tianshu.inference.v1.Usage;
import java.util.List;
import org.junit.jupiter.api.Test;

class ChunkAssemblerTest {

    private final ChunkAssembler assembler = new ChunkAssembler("chatcmpl-x", 100, "asked-model", false);

    private static GenerateStreamResponse.Builder msg(int index, String text) {
        return GenerateStreamResponse.newBuilder().setModel("served-model").setIndex(index).setText(text);
    }

    @Test
    void firstChunkOfEachChoiceCarriesTheAssistantRole() {
        var first = assembler.onMessage(msg(0, "He").build()).orElseThrow();
        var next = assembler.onMessage(msg(0, "llo").build()).orElseThrow();
        var otherChoice = assembler.onMessage(msg(1, "Hi").build()).orElseThrow();

        assertThat(first.choices().get(0).delta()).isEqualTo(new ChatCompletionChunk.Delta("assistant", "He"));
        assertThat(next.choices().get(0).delta()).isEqualTo(new ChatCompletionChunk.Delta(null, "llo"));
        assertThat(otherChoice.choices().get(0).delta().role()).isEqualTo("assistant");
        assertThat(otherChoice.choices().get(0).index()).isEqualTo(1);
        assertThat(first.object()).isEqualTo("chat.completion.chunk");
        assertThat(first.model()).isEqualTo("served-model");
        assertThat(first.usage()).isNull();
    }

    @Test
    void lastMessageOfAChoiceCarriesItsFinishReasonWithAnEmptyDelta() {
        assembler.onMessage(msg(0, "Hi").build());
        var last = assembler.onMessage(msg(0, "").setFinishReason(FinishReason.FINISH_REASON_LENGTH).build())
                .orElseThrow();

        assertThat(last.choices().get(0).finishReason()).isEqualTo("length");
        assertThat(last.choices().get(0).delta()).isEqualTo(new ChatCompletionChunk.Delta(null, null));
    }

    @Test
    void emptyIntermediateMessageProducesNoChunk() {
        assembler.onMessage(msg(0, "Hi").build());

        assertThat(assembler.onMessage(msg(0, "").build())).isEmpty();
    }

    @Test
    void usageFromTheLastMessageComesBackAsAChunkWithNoChoices() {
        assertThat(assembler.usageChunk()).isEmpty();
        assembler.onMessage(msg(0, "Hi").setFinishReason(FinishReason.FINISH_REASON_STOP)
                .setUsage(Usage.newBuilder().setPromptTokens(4).setCompletionTokens(1).setTotalTokens(5)).build());

        var usage = assembler.usageChunk().orElseThrow();
        assertThat(usage.choices()).isEmpty();
        assertThat(usage.usage()).isEqualTo(new ChatCompletion.Usage(4, 1, 5));
    }

    @Test
    void toolCallPiecesBecomeOpenAisDeltaToolCallsFirstWithIdAndNameThenArgumentsOnly() {
        var first = assembler.onMessage(msg(0, "").addToolCalls(
                ToolCallDelta.newBuilder().setIndex(0).setId("call_1").setName("f")).build()).orElseThrow();
        var next = assembler.onMessage(msg(0, "").addToolCalls(
                ToolCallDelta.newBuilder().setIndex(0).setArguments("{\"a\":")).build()).orElseThrow();
        var last = assembler.onMessage(msg(0, "").setFinishReason(FinishReason.FINISH_REASON_TOOL_CALLS).build())
                .orElseThrow();

        assertThat(first.choices().get(0).delta()).isEqualTo(new ChatCompletionChunk.Delta("assistant", null,
                List.of(new ChoiceDeltaToolCall(0, "call_1", "function", new ChoiceDeltaToolCall.Function("f", "")))));
        assertThat(next.choices().get(0).delta()).isEqualTo(new ChatCompletionChunk.Delta(null, null,
                List.of(new ChoiceDeltaToolCall(0, null, null, new ChoiceDeltaToolCall.Function(null, "{\"a\":")))));
        assertThat(last.choices().get(0).finishReason()).isEqualTo("tool_calls");
        assertThat(last.choices().get(0).delta()).isEqualTo(new ChatCompletionChunk.Delta(null, null, null));
    }

    @Test
    void piecesOfOneCallInOneMessageBecomeOneEntryAsClientsMergeEntriesOnlyAcrossChunks() {
        var chunk = assembler.onMessage(msg(0, "")
                .addToolCalls(ToolCallDelta.newBuilder().setIndex(0).setId("call_1").setName("f"))
                .addToolCalls(ToolCallDelta.newBuilder().setIndex(0).setArguments("{"))
                .addToolCalls(ToolCallDelta.newBuilder().setIndex(0).setArguments("\"a\""))
                .addToolCalls(ToolCallDelta.newBuilder().setIndex(1).setId("call_2").setName("g"))
                .build()).orElseThrow();

        assertThat(chunk.choices().get(0).delta().toolCalls()).containsExactly(
                new ChoiceDeltaToolCall(0, "call_1", "function", new ChoiceDeltaToolCall.Function("f", "{\"a\"")),
                new ChoiceDeltaToolCall(1, "call_2", "function", new ChoiceDeltaToolCall.Function("g", "")));
    }

    @Test
    void textSaidBesidesACallKeepsItsContent() {
        var chunk = assembler.onMessage(msg(0, "Checking.").addToolCalls(
                ToolCallDelta.newBuilder().setIndex(0).setId("call_1").setName("f")).build()).orElseThrow();

        assertThat(chunk.choices().get(0).delta().content()).isEqualTo("Checking.");
        assertThat(chunk.choices().get(0).delta().toolCalls()).hasSize(1);
    }

    @Test
    void logprobsAreTranslatedWhenAskedFor() {
        var withLogprobs = new ChunkAssembler("id", 1, "m", true);
        var chunk = withLogprobs.onMessage(msg(0, "é").addLogprobs(
                TokenLogprob.newBuilder().setToken("é").setLogprob(-0.5f)).build()).orElseThrow();

        var token = chunk.choices().get(0).logprobs().content().get(0);
        assertThat(token.token()).isEqualTo("é");
        assertThat(token.logprob()).isEqualTo(-0.5f);
        assertThat(token.bytes()).containsExactly(0xc3, 0xa9);
    }
}
