package io.tianshu.gateway.completions;

import com.fasterxml.jackson.annotation.JsonInclude;
import com.fasterxml.jackson.databind.PropertyNamingStrategies;
import com.fasterxml.jackson.databind.annotation.JsonNaming;
import io.swagger.v3.oas.annotations.media.Schema;
import io.tianshu.gateway.chat.ChatCompletion;
import io.tianshu.inference.v1.GenerateResponse;
import java.util.List;

/**
 * {@code object: "text_completion"}: the whole answer, and also each streamed chunk (OpenAI
 * uses the same shape for both; usage only on the whole answer and the final usage chunk).
 */
@JsonNaming(PropertyNamingStrategies.SnakeCaseStrategy.class)
record Completion(String id, String object, long created, String model, List<Choice> choices,
        @JsonInclude(JsonInclude.Include.NON_NULL) ChatCompletion.Usage usage) {

    // logprobs and finish_reason are always present, null when absent, as OpenAI sends them.
    @JsonNaming(PropertyNamingStrategies.SnakeCaseStrategy.class)
    @JsonInclude(JsonInclude.Include.ALWAYS)
    @Schema(name = "CompletionChoice")
    record Choice(String text, int index, LegacyLogprobs logprobs, String finishReason) {
    }

    static Completion of(GenerateResponse response, String id, long created, String requestedModel,
            boolean withLogprobs) {
        List<Choice> choices = response.getChoicesList().stream()
                .map(c -> new Choice(c.getText(), c.getIndex(),
                        withLogprobs ? LegacyLogprobs.of(c.getLogprobsList(), 0) : null,
                        ChatCompletion.finishReason(c.getFinishReason())))
                .toList();
        String model = response.getModel().isEmpty() ? requestedModel : response.getModel();
        return new Completion(id, "text_completion", created, model, choices,
                ChatCompletion.Usage.of(response.getUsage()));
    }
}
