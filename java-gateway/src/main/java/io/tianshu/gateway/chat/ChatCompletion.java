package io.tianshu.gateway.chat;

import com.fasterxml.jackson.annotation.JsonInclude;
import com.fasterxml.jackson.databind.PropertyNamingStrategies;
import com.fasterxml.jackson.databind.annotation.JsonNaming;
import io.tianshu.gateway.tools.MessageToolCall;
import io.tianshu.inference.v1.FinishReason;
import io.tianshu.inference.v1.GenerateResponse;
import java.util.List;

/** The non-streaming answer, {@code object: "chat.completion"}. */
@JsonNaming(PropertyNamingStrategies.SnakeCaseStrategy.class)
public record ChatCompletion(String id, String object, long created, String model, List<Choice> choices, Usage usage) {

    // logprobs is always present (null when not asked for), as in OpenAI's responses.
    @JsonNaming(PropertyNamingStrategies.SnakeCaseStrategy.class)
    @JsonInclude(JsonInclude.Include.ALWAYS)
    record Choice(int index, Message message, String finishReason, OpenAiLogprobs logprobs) {
    }

    /**
     * content is null when the model only called tools (as at OpenAI); tool_calls is left out
     * when it called none.
     */
    @JsonNaming(PropertyNamingStrategies.SnakeCaseStrategy.class)
    record Message(String role, @JsonInclude(JsonInclude.Include.ALWAYS) String content,
            @JsonInclude(JsonInclude.Include.NON_NULL) List<MessageToolCall> toolCalls) {

        static Message of(io.tianshu.inference.v1.Choice choice) {
            List<MessageToolCall> calls = MessageToolCall.of(choice.getToolCallsList());
            String content = calls != null && choice.getText().isEmpty() ? null : choice.getText();
            return new Message("assistant", content, calls);
        }
    }

    @JsonNaming(PropertyNamingStrategies.SnakeCaseStrategy.class)
    public record Usage(int promptTokens, int completionTokens, int totalTokens) {
        public static Usage of(io.tianshu.inference.v1.Usage usage) {
            return new Usage(usage.getPromptTokens(), usage.getCompletionTokens(), usage.getTotalTokens());
        }
    }

    public static ChatCompletion of(GenerateResponse response, String id, long created, String requestedModel,
            boolean withLogprobs) {
        List<Choice> choices = response.getChoicesList().stream()
                .map(c -> new Choice(c.getIndex(), Message.of(c),
                        finishReason(c.getFinishReason()),
                        withLogprobs ? OpenAiLogprobs.of(c.getLogprobsList()) : null))
                .toList();
        String model = response.getModel().isEmpty() ? requestedModel : response.getModel();
        return new ChatCompletion(id, "chat.completion", created, model, choices, Usage.of(response.getUsage()));
    }

    /** OpenAI's finish_reason; null while a streamed choice is still running. */
    public static String finishReason(FinishReason reason) {
        return switch (reason) {
            case FINISH_REASON_STOP -> "stop";
            case FINISH_REASON_LENGTH -> "length";
            case FINISH_REASON_TOOL_CALLS -> "tool_calls";
            // Not in OpenAI's list; vLLM's OpenAI server uses the same word for it.
            case FINISH_REASON_ABORT -> "abort";
            default -> null;
        };
    }
}
