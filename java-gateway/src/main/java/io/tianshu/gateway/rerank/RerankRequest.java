package io.tianshu.gateway.rerank;

import static io.swagger.v3.oas.annotations.media.Schema.RequiredMode.REQUIRED;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.PropertyNamingStrategies;
import com.fasterxml.jackson.databind.annotation.JsonNaming;
import io.swagger.v3.oas.annotations.media.Schema;

/**
 * The body of {@code POST /v1/rerank} as vLLM, Jina and Cohere take it. documents stays a
 * {@link JsonNode}: each item is a string, or an object with a {@code text} (Jina's and older
 * Cohere clients' shape); {@link RerankMapper} tells them apart.
 */
@JsonNaming(PropertyNamingStrategies.SnakeCaseStrategy.class)
public record RerankRequest(
        @Schema(requiredMode = REQUIRED, minLength = 1, description = "A reranking or embedding model id, or an alias",
                example = "all-minilm-l6-v2")
        String model,
        @Schema(requiredMode = REQUIRED, minLength = 1) String query,
        @Schema(requiredMode = REQUIRED, description = "Texts to score (strings, or objects with a 'text'), at most "
                + "the model's max_batch_size") JsonNode documents,
        @Schema(minimum = "1", description = "Results to return, best first; all when absent") Integer topN,
        @Schema(defaultValue = "true", description = "Whether each result carries its document's text")
        Boolean returnDocuments) {

    boolean documentsReturned() {
        return returnDocuments == null || returnDocuments;
    }
}
