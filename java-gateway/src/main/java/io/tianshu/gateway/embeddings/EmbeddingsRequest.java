package io.tianshu.gateway.embeddings;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.PropertyNamingStrategies;
import com.fasterxml.jackson.databind.annotation.JsonNaming;

/**
 * The body of {@code POST /v1/embeddings}. input stays a {@link JsonNode} because OpenAI
 * allows a string, strings, or token arrays; {@link EmbeddingsMapper} tells them apart.
 */
@JsonNaming(PropertyNamingStrategies.SnakeCaseStrategy.class)
record EmbeddingsRequest(String model, JsonNode input, String encodingFormat, Integer dimensions, String user) {

    boolean base64() {
        return "base64".equals(encodingFormat);
    }
}
