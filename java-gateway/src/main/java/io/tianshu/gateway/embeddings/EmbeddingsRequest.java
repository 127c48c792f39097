package io.tianshu.gateway.embeddings;

import static io.swagger.v3.oas.annotations.media.Schema.RequiredMode.REQUIRED;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.PropertyNamingStrategies;
import com.fasterxml.jackson.databind.annotation.JsonNaming;
import io.swagger.v3.oas.annotations.media.Schema;

/**
 * The body of {@code POST /v1/embeddings}. input stays a {@link JsonNode} because OpenAI
 * allows a string, strings, or token arrays; {@link EmbeddingsMapper} tells them apart.
 */
@JsonNaming(PropertyNamingStrategies.SnakeCaseStrategy.class)
public record EmbeddingsRequest(
        @Schema(requiredMode = REQUIRED, minLength = 1, description = "An embedding model id or an alias",
                example = "all-minilm-l6-v2")
        String model,
        @Schema(requiredMode = REQUIRED, description = "A non-empty text, or non-empty texts (at most the model's "
                + "max_batch_size); token arrays are not supported", oneOf = {String.class, String[].class})
        JsonNode input,
        @Schema(allowableValues = {"float", "base64"}, defaultValue = "float") String encodingFormat,
        @Schema(minimum = "1", description = "Only the model's own dimension") Integer dimensions,
        String user) {

    boolean base64() {
        return "base64".equals(encodingFormat);
    }
}
