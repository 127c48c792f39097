package io.tianshu.gateway.rag;

import static io.swagger.v3.oas.annotations.media.Schema.RequiredMode.REQUIRED;
import static io.tianshu.gateway.error.ApiException.invalidRequest;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.PropertyNamingStrategies;
import com.fasterxml.jackson.databind.annotation.JsonNaming;
import io.swagger.v3.oas.annotations.media.ArraySchema;
import io.swagger.v3.oas.annotations.media.Schema;
import java.util.List;

/** Bodies of the /v1/rag routes. There is no tenant field: the tenant is always the caller's. */
final class RagRequests {

    // What the RAG service takes as a collection id.
    static final String COLLECTION_NAME = "^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$";
    // The most chunks the RAG service returns in one GetDocument page.
    static final int MAX_DOCUMENT_PAGE = 500;

    private RagRequests() {
    }

    /** limit of {@code GET /v1/rag/collections/{name}/documents/{id}}, checked. */
    static int documentPage(int limit) {
        if (limit < 1 || limit > MAX_DOCUMENT_PAGE) {
            throw invalidRequest("limit must be between 1 and " + MAX_DOCUMENT_PAGE + ".", "limit");
        }
        return limit;
    }

    /** {@code POST /v1/rag/collections}. */
    @JsonNaming(PropertyNamingStrategies.SnakeCaseStrategy.class)
    record NewCollection(
            @Schema(requiredMode = REQUIRED, description = "Letters, digits, '.', '_' and '-', at most 128 "
                    + "characters, starting with a letter or digit", pattern = COLLECTION_NAME, example = "handbook")
            String name,
            @Schema(description = "Embedding model of the collection; absent = the RAG service's default")
            String embeddingModel,
            String description,
            @Schema(description = "Retrieval settings; absent fields follow the RAG service's defaults")
            Settings settings) {
    }

    /** A collection's retrieval settings (the RAG service's CollectionSettings). */
    record Settings(
            Fusion fusion,
            @Schema(description = "Language of the documents, which picks the embedding model when none is "
                    + "named: zh the Chinese model, en the default, auto (absent) the model for the language "
                    + "of the first documents ingested", allowableValues = {"auto", "zh", "en"})
            String language,
            Rerank rerank) {
    }

    /**
     * The reranking stage: the retrieval's best candidates scored again by a model; absent
     * fields = the RAG service's defaults. In a search or answer body {@code rerank} may also
     * be just true or false.
     */
    @Schema(name = "RagRerank")
    record Rerank(
            @Schema(description = "On or off; off by default") Boolean enabled,
            @Schema(description = "A reranking model, or an embedding model (scoring by cosine); absent = the "
                    + "collection's embedding model, or the deployment's cross-encoder") String model,
            @Schema(minimum = "1", maximum = "100", description = "Hits of the retrieval rescored, never fewer than "
                    + "top_k; absent = 30") Integer candidates) {
    }

    /** How hybrid search fuses its two rankings; absent fields = the RAG service's defaults. */
    @JsonNaming(PropertyNamingStrategies.SnakeCaseStrategy.class)
    record Fusion(
            @Schema(description = "Weight of the vector ranking, 0 to 100") Double vectorWeight,
            @Schema(description = "Weight of the full-text (BM25) ranking, 0 to 100") Double fullTextWeight,
            @Schema(description = "score (normalised scores, weighted) or rrf (weighted Reciprocal Rank Fusion)",
                    allowableValues = {"score", "rrf"}) String method) {
    }

    /** {@code POST /v1/rag/collections/{name}/documents} as JSON. */
    @JsonNaming(PropertyNamingStrategies.SnakeCaseStrategy.class)
    record Documents(
            @ArraySchema(minItems = 1, arraySchema = @Schema(requiredMode = REQUIRED,
                    description = "At most the RAG service's max_documents_per_ingest (1000 by default)"))
            List<DocumentItem> documents,
            @Schema(description = "When set, must equal the collection's embedding model")
            String embeddingModel) {
    }

    /** One document: text for text formats, or content (base64) for any, PDF included. */
    @JsonNaming(PropertyNamingStrategies.SnakeCaseStrategy.class)
    record DocumentItem(
            @Schema(requiredMode = REQUIRED, minLength = 1, description = "Unique within the collection; an "
                    + "existing id is replaced") String id,
            @Schema(description = "The document as text (UTF-8 formats); exactly one of text and content")
            String text,
            @Schema(description = "The document's bytes, base64; exactly one of text and content", format = "byte")
            String content,
            @Schema(description = "Required with content; text/plain is the default for text",
                    allowableValues = {"text/plain", "text/markdown", "text/html", "application/pdf"})
            String contentType,
            @Schema(description = "Stored with the document; usable as a search filter", types = "object")
            JsonNode metadata) {
    }

    /** A multipart upload, as documented; the controller reads the parts itself. */
    @Schema(name = "DocumentUpload")
    @JsonNaming(PropertyNamingStrategies.SnakeCaseStrategy.class)
    record Upload(
            @ArraySchema(schema = @Schema(type = "string", format = "binary"), minItems = 1,
                    arraySchema = @Schema(requiredMode = REQUIRED, description = "One part per document; its "
                            + "Content-Type (or the file name's extension) gives the format")) List<byte[]> file,
            @Schema(description = "Document ids in the order of the files; absent = the file names")
            List<String> documentId,
            @Schema(description = "A JSON object stored as metadata of every uploaded document") String metadata,
            String embeddingModel) {
    }

    /** {@code POST /v1/rag/collections/{name}/search}. */
    @JsonNaming(PropertyNamingStrategies.SnakeCaseStrategy.class)
    record Search(
            @Schema(requiredMode = REQUIRED, minLength = 1, description = "At most the RAG service's max_query_chars "
                    + "(4096 by default)") String query,
            @Schema(minimum = "1", description = "Most hits, at most the RAG service's max_top_k (100 by default); "
                    + "absent = the service's default") Integer topK,
            @Schema(allowableValues = {"vector", "full_text", "hybrid"}, defaultValue = "hybrid") String mode,
            @Schema(types = "object", description = "{key: value} equality conditions on document metadata: at most "
                    + "16 keys, values strings, numbers or booleans") JsonNode metadataFilter,
            @Schema(minimum = "-1", maximum = "1", description = "Vector candidates below this cosine similarity are "
                    + "dropped") Float minSimilarity,
            String embeddingModel,
            @Schema(description = "The reranking stage for this search: true, false, or an object as in the "
                    + "collection's settings.rerank; absent = the collection's setting",
                    oneOf = {Boolean.class, Rerank.class}) JsonNode rerank) {
    }

    /** {@code POST /v1/rag/collections/{name}/answers}. */
    @JsonNaming(PropertyNamingStrategies.SnakeCaseStrategy.class)
    record Answer(
            @Schema(requiredMode = REQUIRED, minLength = 1) String question,
            @Schema(description = "Generation model or alias, as for chat; absent = the gateway's configured "
                    + "answer model")
            String model,
            @Schema(minimum = "1") Integer topK,
            @Schema(allowableValues = {"vector", "full_text", "hybrid"}, defaultValue = "hybrid") String mode,
            @Schema(types = "object") JsonNode metadataFilter,
            @Schema(minimum = "-1", maximum = "1") Float minSimilarity,
            @Schema(minimum = "0", description = "0 or absent = the service's default") Integer maxTokens,
            @Schema(description = "The reranking stage of the retrieval, as in search",
                    oneOf = {Boolean.class, Rerank.class}) JsonNode rerank,
            @Schema(description = "true = server-sent events: answer.delta events, then one answer.citations")
            Boolean stream) {

        boolean streaming() {
            return Boolean.TRUE.equals(stream);
        }
    }
}
