package io.tianshu.gateway.vectorstores;

import static io.swagger.v3.oas.annotations.media.Schema.RequiredMode.REQUIRED;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.PropertyNamingStrategies;
import com.fasterxml.jackson.databind.annotation.JsonNaming;
import io.swagger.v3.oas.annotations.media.ArraySchema;
import io.swagger.v3.oas.annotations.media.Schema;
import io.tianshu.gateway.web.OpenAiMetadata;
import java.util.List;
import java.util.Map;

/** Bodies of the /v1/vector_stores routes, as OpenAI defines them. There is no tenant: it is the caller's. */
final class VectorStoreRequests {

    /** The most files one call may add (OpenAI takes up to 2000 in a file batch). */
    static final int MAX_FILES_PER_CALL = 500;
    static final String ATTRIBUTES = "At most 16 pairs; keys of at most 64 characters; values strings of at most "
            + "512 characters, numbers or booleans. Stored as the RAG document's metadata, so search filters "
            + "read them.";
    static final String CHUNKING = "{type: auto} (the RAG service's configured chunk sizes), or {type: static, "
            + "static: {max_chunk_size_tokens: 100-4096, chunk_overlap_tokens: at most half of it}}; the RAG "
            + "service takes chunks up to what its embedding model reads (256 tokens by default) and refuses "
            + "larger ones with a 400.";

    private VectorStoreRequests() {
    }

    /** {@code POST /v1/vector_stores}. */
    @JsonNaming(PropertyNamingStrategies.SnakeCaseStrategy.class)
    record NewStore(
            @Schema(maxLength = 256, description = "Absent = \"\"") String name,
            @Schema(maxLength = 512, description = "Kept as the RAG collection's description") String description,
            @Schema(maxProperties = OpenAiMetadata.MAX_PAIRS, description = OpenAiMetadata.RULES)
            Map<String, String> metadata,
            @ArraySchema(maxItems = MAX_FILES_PER_CALL, arraySchema = @Schema(description = "Files uploaded with "
                    + "purpose assistants, added as one ingest job"))
            List<String> fileIds,
            @Schema(types = "object", description = CHUNKING) JsonNode chunkingStrategy,
            @Schema(types = "object", description = "Accepted and ignored: stores do not expire here "
                    + "(expires_after and expires_at read null)") JsonNode expiresAfter) {
    }

    /** {@code POST /v1/vector_stores/{id}}: what is given changes, the rest stays. */
    @JsonNaming(PropertyNamingStrategies.SnakeCaseStrategy.class)
    record StoreUpdate(
            @Schema(maxLength = 256) String name,
            @Schema(maxProperties = OpenAiMetadata.MAX_PAIRS, description = OpenAiMetadata.RULES + "; replaces the "
                    + "store's metadata") Map<String, String> metadata,
            @Schema(types = "object", description = "Accepted and ignored") JsonNode expiresAfter) {
    }

    /** {@code POST /v1/vector_stores/{id}/files}. */
    @JsonNaming(PropertyNamingStrategies.SnakeCaseStrategy.class)
    record NewFile(
            @Schema(requiredMode = REQUIRED, minLength = 1, description = "A file uploaded with purpose assistants")
            String fileId,
            @Schema(types = "object", description = ATTRIBUTES) JsonNode attributes,
            @Schema(types = "object", description = CHUNKING) JsonNode chunkingStrategy) {
    }

    /**
     * {@code POST /v1/vector_stores/{id}/file_batches}: file_ids with one attributes and
     * chunking_strategy for all, or files, each with its own attributes.
     */
    @JsonNaming(PropertyNamingStrategies.SnakeCaseStrategy.class)
    record NewFileBatch(
            @ArraySchema(maxItems = MAX_FILES_PER_CALL, arraySchema = @Schema(description = "Exactly one of "
                    + "file_ids and files")) List<String> fileIds,
            @ArraySchema(maxItems = MAX_FILES_PER_CALL, arraySchema = @Schema(description = "Exactly one of "
                    + "file_ids and files; every file's chunking_strategy must be the same")) List<BatchFile> files,
            @Schema(types = "object", description = ATTRIBUTES + " For every file of file_ids.") JsonNode attributes,
            @Schema(types = "object", description = CHUNKING) JsonNode chunkingStrategy) {
    }

    /** One file of a batch's {@code files}. */
    @JsonNaming(PropertyNamingStrategies.SnakeCaseStrategy.class)
    record BatchFile(
            @Schema(requiredMode = REQUIRED, minLength = 1) String fileId,
            @Schema(types = "object", description = ATTRIBUTES) JsonNode attributes,
            @Schema(types = "object", description = CHUNKING) JsonNode chunkingStrategy) {
    }

    /** {@code POST /v1/vector_stores/{id}/search}. */
    @JsonNaming(PropertyNamingStrategies.SnakeCaseStrategy.class)
    record Search(
            @Schema(requiredMode = REQUIRED, types = {"string", "array"}, description = "A string, or a list of "
                    + "strings searched as one query (joined by new lines); at most the RAG service's "
                    + "max_query_chars (4096 by default) in all") JsonNode query,
            @Schema(minimum = "1", maximum = "50", defaultValue = "10") Integer maxNumResults,
            @Schema(types = "object", description = "OpenAI's filters on file attributes: a comparison {type: eq, ne, "
                    + "gt, gte, lt, lte, in or nin, key, value} or a compound {type: and or or, filters: [...]}, "
                    + "nested at most 8 levels and 64 comparisons. gt..lte compare numbers or strings (not "
                    + "booleans); in and nin take a list of strings and numbers; ne and nin match files without "
                    + "the key.") JsonNode filters,
            @Schema(description = "ranker none = vector search alone; auto or default-2024-11-15 (the default) = "
                    + "hybrid (vector and full-text, fused)") RankingOptions rankingOptions,
            @Schema(description = "Accepted and ignored: the query is searched as written") Boolean rewriteQuery) {
    }

    /** How search results are ranked and cut. */
    @JsonNaming(PropertyNamingStrategies.SnakeCaseStrategy.class)
    record RankingOptions(
            @Schema(allowableValues = {"none", "auto", "default-2024-11-15"}) String ranker,
            @Schema(minimum = "0", maximum = "1", description = "Results whose score (cosine similarity of the "
                    + "chunk to the query) is below this are left out") Double scoreThreshold) {
    }
}
