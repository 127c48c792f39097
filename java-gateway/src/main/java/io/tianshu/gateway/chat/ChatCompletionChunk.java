package io.tianshu.gateway.chat;

import com.fasterxml.jackson.annotation.JsonInclude;
import com.fasterxml.jackson.databind.PropertyNamingStrategies;
import com.fasterxml.jackson.databind.annotation.JsonNaming;
import io.tianshu.gateway.tools.ChoiceDeltaToolCall;
import java.util.List;

/**
 * One SSE event of a streamed answer, {@code object: "chat.completion.chunk"}. usage is left
 * out of choice chunks and only the final usage chunk has it, with empty choices.
 */
@JsonNaming(PropertyNamingStrategies.SnakeCaseStrategy.class)
record ChatCompletionChunk(
        String id,
        String object,
        long created,
        String model,
        List<Choice> choices,
        @JsonInclude(JsonInclude.Include.NON_NULL) ChatCompletion.Usage usage) {

    // finish_reason and logprobs are sent as null until set, as OpenAI does.
    @JsonNaming(PropertyNamingStrategies.SnakeCaseStrategy.class)
    @JsonInclude(JsonInclude.Include.ALWAYS)
    record Choice(int index, Delta delta, OpenAiLogprobs logprobs, String finishReason) {
    }

    /**
     * role only in a choice's first chunk; content absent in a bare finish chunk and beside
     * tool call pieces when the model said nothing else; tool_calls only with pieces of calls.
     */
    @JsonInclude(JsonInclude.Include.NON_NULL)
    @JsonNaming(PropertyNamingStrategies.SnakeCaseStrategy.class)
    record Delta(String role, String content, List<ChoiceDeltaToolCall> toolCalls) {

        Delta(String role, String content) {
            this(role, content, null);
        }
    }
}
