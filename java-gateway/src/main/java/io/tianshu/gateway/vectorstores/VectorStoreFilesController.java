package io.tianshu.gateway.vectorstores;

import static io.tianshu.gateway.error.ApiException.invalidRequest;

import io.swagger.v3.oas.annotations.Operation;
import io.swagger.v3.oas.annotations.Parameter;
import io.swagger.v3.oas.annotations.media.Schema;
import io.swagger.v3.oas.annotations.tags.Tag;
import io.tianshu.gateway.auth.Caller;
import io.tianshu.gateway.auth.Callers;
import io.tianshu.gateway.db.Blocking;
import io.tianshu.gateway.db.RandomIds;
import io.tianshu.gateway.rag.RagClient;
import io.tianshu.gateway.requestid.RequestId;
import io.tianshu.rag.v1.GetDocumentRequest;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import org.springframework.web.bind.annotation.DeleteMapping;
import org.springframework.web.bind.annotation.GetMapping;
import org.springframework.web.bind.annotation.PathVariable;
import org.springframework.web.bind.annotation.PostMapping;
import org.springframework.web.bind.annotation.RequestBody;
import org.springframework.web.bind.annotation.RequestParam;
import org.springframework.web.bind.annotation.RestController;
import org.springframework.web.server.ServerWebExchange;
import reactor.core.publisher.Mono;

/**
 * The files of a vector store and file batches. A file is the RAG document of the same id in
 * the store's collection, its attributes the document's metadata; its status follows the RAG
 * ingest job that stores it (IngestProgress).
 */
@RestController
@Tag(name = "Vector stores")
class VectorStoreFilesController {

    // The most chunks the RAG service returns in one GetDocument page.
    private static final int FILE_CONTENT_PAGE = 500;
    private static final Set<String> STATUSES = Set.of("in_progress", "completed", "failed", "cancelled");

    private final VectorStoreRepository repository;
    private final IngestProgress progress;
    private final FileAttacher attacher;
    private final StoreCleanup cleanup;
    private final RagClient rag;

    VectorStoreFilesController(VectorStoreRepository repository, IngestProgress progress, FileAttacher attacher,
            StoreCleanup cleanup, RagClient rag) {
        this.repository = repository;
        this.progress = progress;
        this.attacher = attacher;
        this.cleanup = cleanup;
        this.rag = rag;
    }

    @PostMapping("/v1/vector_stores/{vector_store_id}/files")
    @Operation(summary = "Add an uploaded file (purpose assistants) to a vector store (scope rag:write)",
            description = "One ingest job, admitted as an upload (ingestion quota and rate limits). The file is "
                    + "in_progress until its job ends; a document the RAG service cannot read is failed at once "
                    + "(last_error invalid_file). A file the store holds already is 409, unless it failed.")
    Mono<VectorStoreViews.VectorStoreFileObject> create(@PathVariable("vector_store_id") String storeId,
            @RequestBody VectorStoreRequests.NewFile body, ServerWebExchange exchange) {
        if (body.fileId() == null || body.fileId().isBlank()) {
            throw invalidRequest("'file_id' is required: a file uploaded with purpose \"assistants\".", "file_id");
        }
        List<FileAttacher.Requested> requested = List.of(new FileAttacher.Requested(body.fileId(), "file_id",
                Attributes.checked(body.attributes(), "attributes"),
                ChunkingStrategies.checked(body.chunkingStrategy(), "chunking_strategy")));
        return Callers.current().flatMap(caller -> resolve(caller, storeId, requested)
                        .flatMap(files -> attacher.attach(caller, storeId, files, null, RequestId.of(exchange),
                                exchange.getResponse().getHeaders())))
                .map(rows -> VectorStoreViews.VectorStoreFileObject.of(rows.get(0)));
    }

    @GetMapping("/v1/vector_stores/{vector_store_id}/files")
    @Operation(summary = "List a vector store's files (scope rag:read)")
    Mono<VectorStoreViews.ListPage<VectorStoreViews.VectorStoreFileObject>> list(
            @PathVariable("vector_store_id") String storeId,
            @Parameter(schema = @Schema(types = "integer", format = "int32", minimum = "1", maximum = "100",
                    defaultValue = "20")) @RequestParam(defaultValue = "20") int limit,
            @Parameter(schema = @Schema(allowableValues = {"asc", "desc"}, defaultValue = "desc"))
            @RequestParam(defaultValue = "desc") String order,
            @RequestParam(required = false) String after,
            @RequestParam(required = false) String before,
            @Parameter(schema = @Schema(allowableValues = {"in_progress", "completed", "failed", "cancelled"}))
            @RequestParam(required = false) String filter,
            ServerWebExchange exchange) {
        return listFiles(storeId, null, limit, order, after, before, filter, exchange);
    }

    @GetMapping("/v1/vector_stores/{vector_store_id}/files/{file_id}")
    @Operation(summary = "A file of a vector store (scope rag:read)")
    Mono<VectorStoreViews.VectorStoreFileObject> get(@PathVariable("vector_store_id") String storeId,
            @PathVariable("file_id") String fileId, ServerWebExchange exchange) {
        return Callers.current().flatMap(caller -> currentFile(caller, storeId, fileId, RequestId.of(exchange)))
                .map(VectorStoreViews.VectorStoreFileObject::of);
    }

    @GetMapping("/v1/vector_stores/{vector_store_id}/files/{file_id}/content")
    @Operation(summary = "The parsed content of a vector store file (scope rag:read)",
            description = "The file's RAG document read back: one text item per chunk, in order, at most "
                    + FILE_CONTENT_PAGE + " a page; next_page, sent back as ?page=, reads on. A file that is not "
                    + "completed is 400.")
    Mono<VectorStoreViews.FileContentPage> content(@PathVariable("vector_store_id") String storeId,
            @PathVariable("file_id") String fileId, @RequestParam(required = false) String page,
            ServerWebExchange exchange) {
        String requestId = RequestId.of(exchange);
        return Callers.current().flatMap(caller -> currentFile(caller, storeId, fileId, requestId)
                .flatMap(file -> {
                    if (!"completed".equals(file.status())) {
                        return Mono.error(VectorStoreErrors.contentNotStored(fileId, file.status()));
                    }
                    return rag.getDocument(GetDocumentRequest.newBuilder().setTenantId(caller.tenant())
                                    .setCollectionId(storeId).setDocumentId(fileId).setPageSize(FILE_CONTENT_PAGE)
                                    .setPageToken(page == null ? "" : page).build(), requestId)
                            .map(document -> VectorStoreViews.FileContentPage.of(file, document));
                }));
    }

    /** The store's file, its status brought up to date with its ingest job; 404 for another tenant's. */
    private Mono<VectorStoreRepository.FileRow> currentFile(Caller caller, String storeId, String fileId,
            String requestId) {
        return Blocking.call(() -> repository.owned(caller.tenant(), storeId))
                .then(progress.refresh(caller.tenant(), List.of(storeId), requestId))
                .then(Blocking.call(() -> repository.findFile(caller.tenant(), storeId, fileId)
                        .orElseThrow(() -> VectorStoreErrors.fileNotFound(storeId, fileId))));
    }

    @DeleteMapping("/v1/vector_stores/{vector_store_id}/files/{file_id}")
    @Operation(summary = "Remove a file from a vector store, with its chunks (scope rag:write); the upload stays")
    Mono<VectorStoreViews.Deleted> delete(@PathVariable("vector_store_id") String storeId,
            @PathVariable("file_id") String fileId, ServerWebExchange exchange) {
        return Callers.current().flatMap(caller -> Blocking.call(() -> repository.owned(caller.tenant(), storeId))
                .then(Blocking.call(() -> repository.findFile(caller.tenant(), storeId, fileId)
                        .orElseThrow(() -> VectorStoreErrors.fileNotFound(storeId, fileId))))
                .then(cleanup.removeFile(caller.tenant(), storeId, fileId, RequestId.of(exchange))))
                .thenReturn(new VectorStoreViews.Deleted(fileId, "vector_store.file.deleted", true));
    }

    @PostMapping("/v1/vector_stores/{vector_store_id}/file_batches")
    @Operation(summary = "Add several uploaded files to a vector store at once (scope rag:write)",
            description = "file_ids (with one attributes for all) or files (each with its own attributes); every "
                    + "file's chunking_strategy must be the same. One ingest job, admitted as one upload.")
    Mono<VectorStoreViews.FileBatchObject> createBatch(@PathVariable("vector_store_id") String storeId,
            @RequestBody VectorStoreRequests.NewFileBatch body, ServerWebExchange exchange) {
        List<FileAttacher.Requested> requested = batchFiles(body);
        String batchId = RandomIds.of("vsfb_");
        String requestId = RequestId.of(exchange);
        return Callers.current().flatMap(caller -> resolve(caller, storeId, requested)
                .flatMap(files -> Blocking.call(() -> repository.insertBatch(batchId, storeId, caller.tenant()))
                        .then(attacher.attach(caller, storeId, files, batchId, requestId,
                                exchange.getResponse().getHeaders()))
                        // A batch none of whose files could be sent (over quota, the RAG service
                        // away) is not kept.
                        .onErrorResume(failure -> Blocking.call(() -> repository.deleteBatch(batchId))
                                .then(Mono.error(failure))))
                .then(batchView(caller, storeId, batchId, requestId)));
    }

    @GetMapping("/v1/vector_stores/{vector_store_id}/file_batches/{batch_id}")
    @Operation(summary = "A file batch (scope rag:read)")
    Mono<VectorStoreViews.FileBatchObject> getBatch(@PathVariable("vector_store_id") String storeId,
            @PathVariable("batch_id") String batchId, ServerWebExchange exchange) {
        return Callers.current().flatMap(caller -> Blocking.call(() -> repository.owned(caller.tenant(), storeId))
                .then(batchView(caller, storeId, batchId, RequestId.of(exchange))));
    }

    @GetMapping("/v1/vector_stores/{vector_store_id}/file_batches/{batch_id}/files")
    @Operation(summary = "List the files of a file batch (scope rag:read)")
    Mono<VectorStoreViews.ListPage<VectorStoreViews.VectorStoreFileObject>> listBatchFiles(
            @PathVariable("vector_store_id") String storeId, @PathVariable("batch_id") String batchId,
            @Parameter(schema = @Schema(types = "integer", format = "int32", minimum = "1", maximum = "100",
                    defaultValue = "20")) @RequestParam(defaultValue = "20") int limit,
            @Parameter(schema = @Schema(allowableValues = {"asc", "desc"}, defaultValue = "desc"))
            @RequestParam(defaultValue = "desc") String order,
            @RequestParam(required = false) String after,
            @RequestParam(required = false) String before,
            @Parameter(schema = @Schema(allowableValues = {"in_progress", "completed", "failed", "cancelled"}))
            @RequestParam(required = false) String filter,
            ServerWebExchange exchange) {
        return listFiles(storeId, batchId, limit, order, after, before, filter, exchange);
    }

    private Mono<VectorStoreViews.ListPage<VectorStoreViews.VectorStoreFileObject>> listFiles(String storeId,
            String batchId, int limit, String order, String after, String before, String filter,
            ServerWebExchange exchange) {
        VectorStoreRepository.Page page = PageParams.checked(limit, order, after, before);
        if (filter != null && !STATUSES.contains(filter)) {
            throw invalidRequest("filter must be one of in_progress, completed, failed, cancelled.", "filter");
        }
        return Callers.current().flatMap(caller -> Blocking.call(() -> repository.owned(caller.tenant(), storeId))
                .then(batchId == null ? Mono.empty() : Blocking.call(() -> repository.findBatch(caller.tenant(),
                        storeId, batchId).orElseThrow(() -> VectorStoreErrors.batchNotFound(storeId, batchId))))
                .then(progress.refresh(caller.tenant(), List.of(storeId), RequestId.of(exchange)))
                .then(Blocking.call(() -> repository.listFiles(caller.tenant(), storeId, batchId, filter, page))))
                .map(listed -> VectorStoreViews.ListPage.of(listed.rows().stream()
                        .map(VectorStoreViews.VectorStoreFileObject::of).toList(),
                        VectorStoreViews.VectorStoreFileObject::id, listed.hasMore()));
    }

    /** The store's, then the files', refusals first: nothing is sent or recorded for a bad request. */
    private Mono<List<FileAttacher.Resolved>> resolve(Caller caller, String storeId,
            List<FileAttacher.Requested> requested) {
        return Blocking.call(() -> repository.owned(caller.tenant(), storeId))
                .then(Blocking.call(() -> attacher.resolve(caller.tenant(), storeId, requested)));
    }

    private Mono<VectorStoreViews.FileBatchObject> batchView(Caller caller, String storeId, String batchId,
            String requestId) {
        return Blocking.call(() -> repository.findBatch(caller.tenant(), storeId, batchId)
                        .orElseThrow(() -> VectorStoreErrors.batchNotFound(storeId, batchId)))
                .flatMap(batch -> progress.refresh(caller.tenant(), List.of(storeId), requestId)
                        .then(Blocking.call(() -> VectorStoreViews.FileBatchObject.of(batch,
                                repository.batchCounts(batchId)))));
    }

    private static List<FileAttacher.Requested> batchFiles(VectorStoreRequests.NewFileBatch body) {
        boolean byIds = body.fileIds() != null && !body.fileIds().isEmpty();
        boolean byFiles = body.files() != null && !body.files().isEmpty();
        if (byIds == byFiles) {
            throw invalidRequest("Give exactly one of 'file_ids' and 'files', not empty.", byIds ? "files"
                    : "file_ids");
        }
        int count = byIds ? body.fileIds().size() : body.files().size();
        String param = byIds ? "file_ids" : "files";
        if (count > VectorStoreRequests.MAX_FILES_PER_CALL) {
            throw invalidRequest("'" + param + "' holds at most " + VectorStoreRequests.MAX_FILES_PER_CALL
                    + " files.", param);
        }
        List<FileAttacher.Requested> requested = new ArrayList<>(count);
        if (byIds) {
            var attributes = Attributes.checked(body.attributes(), "attributes");
            var strategy = ChunkingStrategies.checked(body.chunkingStrategy(), "chunking_strategy");
            for (int i = 0; i < count; i++) {
                String fileId = body.fileIds().get(i);
                if (fileId == null || fileId.isBlank()) {
                    throw invalidRequest("'file_ids[" + i + "]' must be a file id.", "file_ids[" + i + "]");
                }
                requested.add(new FileAttacher.Requested(fileId, "file_ids[" + i + "]", attributes, strategy));
            }
            return requested;
        }
        for (int i = 0; i < count; i++) {
            VectorStoreRequests.BatchFile file = body.files().get(i);
            String field = "files[" + i + "]";
            if (file == null || file.fileId() == null || file.fileId().isBlank()) {
                throw invalidRequest("'" + field + ".file_id' is required.", field + ".file_id");
            }
            requested.add(new FileAttacher.Requested(file.fileId(), field,
                    Attributes.checked(file.attributes(), field + ".attributes"),
                    ChunkingStrategies.checked(file.chunkingStrategy(), field + ".chunking_strategy")));
        }
        return requested;
    }
}
