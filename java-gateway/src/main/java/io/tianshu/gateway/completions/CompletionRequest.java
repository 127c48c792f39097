package io.tianshu.gateway.completions;

import static io.swagger.v3.oas.annotations.media.Schema.RequiredMode.REQUIRED;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.PropertyNamingStrategies;
import com.fasterxml.jackson.databind.annotation.JsonNaming;
import io.swagger.v3.oas.annotations.media.Schema;

/** The body of {@code POST /v1/completions} (OpenAI's legacy text completions). */
@JsonNaming(PropertyNamingStrategies.SnakeCaseStrategy.class)
record CompletionRequest(
        @Schema(requiredMode = REQUIRED, minLength = 1, description = "A served model id or an alias",
                example = "smollm2-135m-instruct")
        String model,
        @Schema(requiredMode = REQUIRED, description = "A string, or an array of exactly one string",
                oneOf = {String.class, String[].class})
        JsonNode prompt,
        @Schema(minimum = "1", defaultValue = "16") Integer maxTokens,
        @Schema(minimum = "0", maximum = "2") Double temperature,
        @Schema(minimum = "0", exclusiveMinimum = true, maximum = "1") Double topP,
        @Schema(minimum = "1", description = "Choices; at most the model's max_choices") Integer n,
        @Schema(description = "A stop sequence or several", oneOf = {String.class, String[].class}) JsonNode stop,
        Long seed,
        @Schema(minimum = "-2", maximum = "2") Double presencePenalty,
        @Schema(minimum = "-2", maximum = "2") Double frequencyPenalty,
        Boolean stream,
        StreamOptions streamOptions,
        @Schema(minimum = "0", maximum = "5", description = "Top log probabilities per token; at most the "
                + "model's max_logprobs") Integer logprobs,
        @Schema(description = "Not supported: only false", allowableValues = "false") Boolean echo,
        @Schema(description = "Not supported: leave it out") String suffix,
        @Schema(description = "Not supported beyond 1 (or n)", minimum = "1") Integer bestOf,
        String user) {

    @JsonNaming(PropertyNamingStrategies.SnakeCaseStrategy.class)
    record StreamOptions(@Schema(description = "A last chunk with the usage and no choices") Boolean includeUsage) {
    }

    boolean streaming() {
        return Boolean.TRUE.equals(stream);
    }

    boolean includeUsage() {
        return streamOptions != null && Boolean.TRUE.equals(streamOptions.includeUsage());
    }

    boolean wantsLogprobs() {
        return logprobs != null;
    }
}
