package io.tianshu.gateway.vectorstores;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.PropertyNamingStrategies;
import com.fasterxml.jackson.databind.annotation.JsonNaming;
import io.swagger.v3.oas.annotations.media.Schema;
import io.tianshu.rag.v1.GetDocumentResponse;
import java.util.List;
import java.util.Map;

/** OpenAI's vector store objects, in its snake_case JSON. */
final class VectorStoreViews {

    private VectorStoreViews() {
    }

    /**
     * OpenAI's VectorStore. Stores never expire here: expires_after and expires_at are null.
     * status is in_progress while any of its files is, else completed.
     */
    @JsonNaming(PropertyNamingStrategies.SnakeCaseStrategy.class)
    record VectorStoreObject(String id, @Schema(allowableValues = "vector_store") String object, long createdAt,
            String name, long usageBytes, FileCounts fileCounts,
            @Schema(allowableValues = {"in_progress", "completed"}) String status, Map<String, String> metadata,
            long lastActiveAt, @Schema(types = "object") JsonNode expiresAfter, Long expiresAt) {

        static VectorStoreObject of(VectorStoreRepository.StoreRow store, VectorStoreRepository.Counts counts) {
            return new VectorStoreObject(store.id(), "vector_store", store.createdAt(), store.name(),
                    counts.usageBytes(), FileCounts.of(counts), counts.inProgress() > 0 ? "in_progress" : "completed",
                    store.metadata(), store.lastActiveAt(), null, null);
        }
    }

    /** How many of a store's (or a batch's) files are in each state. */
    @JsonNaming(PropertyNamingStrategies.SnakeCaseStrategy.class)
    record FileCounts(long inProgress, long completed, long failed, long cancelled, long total) {
        static FileCounts of(VectorStoreRepository.Counts counts) {
            return new FileCounts(counts.inProgress(), counts.completed(), counts.failed(), counts.cancelled(),
                    counts.inProgress() + counts.completed() + counts.failed() + counts.cancelled());
        }
    }

    /**
     * OpenAI's VectorStoreFile. usage_bytes is the file's size once stored (completed), else 0.
     * chunking_strategy is {type: other} for auto: the RAG service's configured sizes apply.
     */
    @JsonNaming(PropertyNamingStrategies.SnakeCaseStrategy.class)
    record VectorStoreFileObject(String id, @Schema(allowableValues = "vector_store.file") String object,
            long usageBytes, long createdAt, String vectorStoreId,
            @Schema(allowableValues = {"in_progress", "completed", "failed", "cancelled"}) String status,
            LastError lastError, @Schema(types = "object") JsonNode chunkingStrategy,
            @Schema(types = "object") JsonNode attributes) {

        static VectorStoreFileObject of(VectorStoreRepository.FileRow file) {
            return new VectorStoreFileObject(file.fileId(), "vector_store.file", file.usageBytes(), file.createdAt(),
                    file.storeId(), file.status(), file.errorCode() == null ? null
                    : new LastError(file.errorCode(), file.errorMessage()), file.chunkingStrategy(),
                    file.attributes());
        }
    }

    /** Why a file failed: invalid_file (the RAG service refused the document) or server_error (its job failed). */
    record LastError(@Schema(allowableValues = {"server_error", "unsupported_file", "invalid_file"}) String code,
            String message) {
    }

    /** OpenAI's VectorStoreFileBatch: in_progress while any of its files is; failed when every one failed. */
    @JsonNaming(PropertyNamingStrategies.SnakeCaseStrategy.class)
    record FileBatchObject(String id, @Schema(allowableValues = "vector_store.files_batch") String object,
            long createdAt, String vectorStoreId,
            @Schema(allowableValues = {"in_progress", "completed", "failed", "cancelled"}) String status,
            FileCounts fileCounts) {

        static FileBatchObject of(VectorStoreRepository.BatchRow batch, VectorStoreRepository.Counts counts) {
            FileCounts fileCounts = FileCounts.of(counts);
            String status = counts.inProgress() > 0 ? "in_progress"
                    : fileCounts.total() > 0 && counts.failed() == fileCounts.total() ? "failed" : "completed";
            return new FileBatchObject(batch.id(), "vector_store.files_batch", batch.createdAt(), batch.storeId(),
                    status, fileCounts);
        }
    }

    /** A page of a cursor-paginated list. */
    @JsonNaming(PropertyNamingStrategies.SnakeCaseStrategy.class)
    record ListPage<T>(String object, List<T> data, String firstId, String lastId, boolean hasMore) {
        static <T> ListPage<T> of(List<T> data, java.util.function.Function<T, String> id, boolean hasMore) {
            return new ListPage<>("list", data, data.isEmpty() ? null : id.apply(data.get(0)),
                    data.isEmpty() ? null : id.apply(data.get(data.size() - 1)), hasMore);
        }
    }

    /** A deleted store ("vector_store.deleted") or file ("vector_store.file.deleted"). */
    record Deleted(String id, String object, boolean deleted) {
    }

    /** OpenAI's search results page: every result at once, so never more pages. */
    @JsonNaming(PropertyNamingStrategies.SnakeCaseStrategy.class)
    record SearchPage(@Schema(allowableValues = "vector_store.search_results.page") String object,
            List<String> searchQuery, List<SearchResult> data, boolean hasMore, String nextPage) {
    }

    /**
     * One chunk found: the file it came from, its score (the chunk's cosine similarity to the
     * query, 0 to 1), the file's attributes and the chunk's text.
     */
    @JsonNaming(PropertyNamingStrategies.SnakeCaseStrategy.class)
    record SearchResult(String fileId, String filename, double score, Map<String, Object> attributes,
            List<Content> content) {
    }

    /**
     * OpenAI's vector_store.file_content.page: the file's text as its RAG document's chunks in
     * order, one text item each, without the sentences a chunk repeats of the one before (so the
     * items joined are the text once). next_page (given back as ?page=) reads on. file_id,
     * filename and attributes name the file, as a search result does.
     */
    @JsonNaming(PropertyNamingStrategies.SnakeCaseStrategy.class)
    record FileContentPage(@Schema(allowableValues = "vector_store.file_content.page") String object,
            List<Content> data, boolean hasMore, String nextPage, String fileId, String filename,
            @Schema(types = "object") JsonNode attributes) {

        static FileContentPage of(VectorStoreRepository.FileRow file, GetDocumentResponse document) {
            List<Content> data = document.getChunksList().stream()
                    .map(c -> new Content("text", c.getText().substring(c.getOverlapChars()))).toList();
            String next = document.getNextPageToken();
            return new FileContentPage("vector_store.file_content.page", data, !next.isEmpty(),
                    next.isEmpty() ? null : next, file.fileId(), file.filename(), file.attributes());
        }
    }

    /** A piece of a result's content; always text here. */
    record Content(@Schema(allowableValues = "text") String type, String text) {
    }
}
