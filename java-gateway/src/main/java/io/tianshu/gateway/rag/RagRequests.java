package io.tianshu.gateway.rag;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.PropertyNamingStrategies;
import com.fasterxml.jackson.databind.annotation.JsonNaming;
import io.swagger.v3.oas.annotations.media.ArraySchema;
import io.swagger.v3.oas.annotations.media.Schema;
import java.util.List;

/** Bodies of the /v1/rag routes. There is no tenant field: the tenant is always the caller's. */
final class RagRequests {

    private RagRequests() {
    }

    /** {@code POST /v1/rag/collections}. */
    @JsonNaming(PropertyNamingStrategies.SnakeCaseStrategy.class)
    record NewCollection(
            @Schema(description = "Letters, digits, '.', '_' and '-', at most 128 characters", example = "handbook")
            String name,
            @Schema(description = "Embedding model of the collection; absent = the RAG service's default")
            String embeddingModel,
            String description) {
    }

    /** {@code POST /v1/rag/collections/{name}/documents} as JSON. */
    @JsonNaming(PropertyNamingStrategies.SnakeCaseStrategy.class)
    record Documents(
            List<DocumentItem> documents,
            @Schema(description = "When set, must equal the collection's embedding model")
            String embeddingModel) {
    }

    /** One document: text for text formats, or content (base64) for any, PDF included. */
    @JsonNaming(PropertyNamingStrategies.SnakeCaseStrategy.class)
    record DocumentItem(
            @Schema(description = "Unique within the collection; an existing id is replaced") String id,
            @Schema(description = "The document as text (UTF-8 formats)") String text,
            @Schema(description = "The document's bytes, base64; instead of text") String content,
            @Schema(description = "text/plain (default for text), text/markdown, text/html or application/pdf")
            String contentType,
            @Schema(description = "Stored with the document; usable as a search filter") JsonNode metadata) {
    }

    /** A multipart upload, as documented; the controller reads the parts itself. */
    @JsonNaming(PropertyNamingStrategies.SnakeCaseStrategy.class)
    record Upload(
            @ArraySchema(schema = @Schema(type = "string", format = "binary"), arraySchema = @Schema(
                    description = "One part per document; its Content-Type (or the file name's extension) gives "
                            + "the format")) List<byte[]> file,
            @Schema(description = "Document ids in the order of the files; absent = the file names")
            List<String> documentId,
            @Schema(description = "A JSON object stored as metadata of every uploaded document") String metadata,
            String embeddingModel) {
    }

    /** {@code POST /v1/rag/collections/{name}/search}. */
    @JsonNaming(PropertyNamingStrategies.SnakeCaseStrategy.class)
    record Search(
            String query,
            @Schema(description = "Most hits; absent = the service's default") Integer topK,
            @Schema(allowableValues = {"vector", "full_text", "hybrid"}, defaultValue = "hybrid") String mode,
            @Schema(description = "{key: value} equality conditions on document metadata") JsonNode metadataFilter,
            @Schema(description = "Vector candidates below this cosine similarity are dropped") Float minSimilarity,
            String embeddingModel) {
    }

    /** {@code POST /v1/rag/collections/{name}/answers}. */
    @JsonNaming(PropertyNamingStrategies.SnakeCaseStrategy.class)
    record Answer(
            String question,
            @Schema(description = "Generation model or alias, as for chat; absent = the gateway's configured "
                    + "answer model")
            String model,
            Integer topK,
            @Schema(allowableValues = {"vector", "full_text", "hybrid"}, defaultValue = "hybrid") String mode,
            JsonNode metadataFilter,
            Float minSimilarity,
            Integer maxTokens,
            @Schema(description = "true = server-sent events: answer.delta events, then one answer.citations")
            Boolean stream) {

        boolean streaming() {
            return Boolean.TRUE.equals(stream);
        }
    }
}
