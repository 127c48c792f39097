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
import io.tianshu.gateway.web.OpenAiMetadata;
import io.tianshu.rag.v1.CreateCollectionRequest;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Objects;
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
 * OpenAI's vector stores: each is one RAG collection of the caller's tenant, named by the
 * store's id, so /v1/rag/collections/{store id}/... reaches the same documents. Creating,
 * reading, changing and deleting a store take no admission (as the /v1/rag collection routes);
 * adding files is an upload and a search a search, admitted as theirs are.
 */
@RestController
@Tag(name = "Vector stores", description = "OpenAI's vector stores over the RAG service (one collection per store)")
class VectorStoresController {

    static final int MAX_NAME = 256;
    private static final int MAX_DESCRIPTION = 512;

    private final VectorStoreRepository repository;
    private final RagClient rag;
    private final IngestProgress progress;
    private final FileAttacher attacher;
    private final StoreCleanup cleanup;
    private final StoreSearch search;

    VectorStoresController(VectorStoreRepository repository, RagClient rag, IngestProgress progress,
            FileAttacher attacher, StoreCleanup cleanup, StoreSearch search) {
        this.repository = repository;
        this.rag = rag;
        this.progress = progress;
        this.attacher = attacher;
        this.cleanup = cleanup;
        this.search = search;
    }

    @PostMapping("/v1/vector_stores")
    @Operation(summary = "Create a vector store (scope rag:write), with files when file_ids names some",
            description = "The files (purpose assistants) go to the RAG service as one ingest job, admitted as an "
                    + "upload: the tenant's ingestion quota (429 ingestion_quota_exceeded) and rate limits. A file "
                    + "the RAG service cannot read is added as failed. expires_after is ignored.")
    Mono<VectorStoreViews.VectorStoreObject> create(@RequestBody VectorStoreRequests.NewStore body,
            ServerWebExchange exchange) {
        String name = orEmpty(text(body.name(), MAX_NAME, "name"));
        String description = text(body.description(), MAX_DESCRIPTION, "description");
        Map<String, String> metadata = OpenAiMetadata.checked(body.metadata(), "metadata");
        List<FileAttacher.Requested> requested = requested(body.fileIds(), body.chunkingStrategy());
        String id = RandomIds.of("vs_");
        String requestId = RequestId.of(exchange);
        // The row first: what the database refuses (a NUL character) then leaves no collection
        // behind. Nothing is left of a store whose collection or files could not be made (over
        // quota, the RAG service away): the caller may simply try again.
        return Callers.current().flatMap(caller -> Blocking.call(() -> attacher.resolve(caller.tenant(), null,
                        requested))
                .flatMap(files -> Blocking.call(() -> repository.insertStore(id, caller.tenant(), name, description,
                                metadata))
                        .then(rag.createCollection(CreateCollectionRequest.newBuilder()
                                        .setTenantId(caller.tenant()).setCollectionId(id)
                                        .setDescription(description == null ? name : description).build(), requestId)
                                .onErrorResume(failure -> Blocking.call(() -> repository.deleteStore(caller.tenant(),
                                        id)).then(Mono.error(failure))))
                        .then(attacher.attach(caller, id, files, null, requestId, exchange.getResponse().getHeaders())
                                .onErrorResume(failure -> cleanup.removeStore(caller.tenant(), id, requestId)
                                        .onErrorResume(e -> Mono.empty()).then(Mono.error(failure))))
                        .then(view(caller, id, requestId))));
    }

    @GetMapping("/v1/vector_stores")
    @Operation(summary = "List the caller's vector stores (scope rag:read)")
    Mono<VectorStoreViews.ListPage<VectorStoreViews.VectorStoreObject>> list(
            @Parameter(schema = @Schema(types = "integer", format = "int32", minimum = "1", maximum = "100",
                    defaultValue = "20")) @RequestParam(defaultValue = "20") int limit,
            @Parameter(schema = @Schema(allowableValues = {"asc", "desc"}, defaultValue = "desc"))
            @RequestParam(defaultValue = "desc") String order,
            @Parameter(description = "A store id: the page after it") @RequestParam(required = false) String after,
            @Parameter(description = "A store id: the page before it") @RequestParam(required = false) String before,
            ServerWebExchange exchange) {
        VectorStoreRepository.Page page = PageParams.checked(limit, order, after, before);
        String requestId = RequestId.of(exchange);
        return Callers.current().flatMap(caller -> Blocking.call(() -> repository.listStores(caller.tenant(), page))
                .flatMap(listed -> {
                    List<String> ids = listed.rows().stream().map(VectorStoreRepository.StoreRow::id).toList();
                    return progress.counts(caller.tenant(), ids, requestId).map(counts -> {
                        List<VectorStoreViews.VectorStoreObject> stores = new ArrayList<>(ids.size());
                        listed.rows().forEach(store -> stores.add(VectorStoreViews.VectorStoreObject.of(store,
                                counts.getOrDefault(store.id(), VectorStoreRepository.Counts.NONE))));
                        return VectorStoreViews.ListPage.of(stores, VectorStoreViews.VectorStoreObject::id,
                                listed.hasMore());
                    });
                }));
    }

    @GetMapping("/v1/vector_stores/{vector_store_id}")
    @Operation(summary = "A vector store, with its files' counts (scope rag:read)")
    Mono<VectorStoreViews.VectorStoreObject> get(@PathVariable("vector_store_id") String id,
            ServerWebExchange exchange) {
        return Callers.current().flatMap(caller -> view(caller, id, RequestId.of(exchange)));
    }

    @PostMapping("/v1/vector_stores/{vector_store_id}")
    @Operation(summary = "Change a vector store's name or metadata (scope rag:write)",
            description = "What is given changes; metadata is replaced whole. expires_after is ignored.")
    Mono<VectorStoreViews.VectorStoreObject> update(@PathVariable("vector_store_id") String id,
            @RequestBody VectorStoreRequests.StoreUpdate body, ServerWebExchange exchange) {
        String name = text(body.name(), MAX_NAME, "name");
        Map<String, String> metadata = body.metadata() == null ? null
                : OpenAiMetadata.checked(body.metadata(), "metadata");
        return Callers.current().flatMap(caller -> Blocking.call(() -> {
            if (!repository.updateStore(caller.tenant(), id, name, metadata)) {
                throw VectorStoreErrors.storeNotFound(id);
            }
            return true;
        }).then(view(caller, id, RequestId.of(exchange))));
    }

    @DeleteMapping("/v1/vector_stores/{vector_store_id}")
    @Operation(summary = "Delete a vector store with its RAG collection (scope rag:write); the uploads stay")
    Mono<VectorStoreViews.Deleted> delete(@PathVariable("vector_store_id") String id, ServerWebExchange exchange) {
        String requestId = RequestId.of(exchange);
        return Callers.current().flatMap(caller -> Blocking.call(() -> repository.owned(caller.tenant(), id))
                .then(cleanup.removeStore(caller.tenant(), id, requestId)))
                .thenReturn(new VectorStoreViews.Deleted(id, "vector_store.deleted", true));
    }

    @PostMapping("/v1/vector_stores/{vector_store_id}/search")
    @Operation(summary = "Search a vector store's files (scope rag:read)",
            description = "Hybrid retrieval (vector and full-text, fused) by default; ranking_options.ranker none = "
                    + "vector alone. score is the chunk's cosine similarity to the query (0-1), which "
                    + "ranking_options.score_threshold cuts at. filters select by the files' attributes. Admitted "
                    + "like /v1/rag searches: one request of the rate limits, no tokens. rewrite_query is ignored.")
    Mono<VectorStoreViews.SearchPage> search(@PathVariable("vector_store_id") String id,
            @RequestBody VectorStoreRequests.Search body, ServerWebExchange exchange) {
        StoreSearch.Checked checked = StoreSearch.checked(body);
        return Callers.current().flatMap(caller -> search.search(caller, id, checked, RequestId.of(exchange),
                exchange.getResponse().getHeaders()));
    }

    /** The store as OpenAI shows it, its files' ended jobs recorded first. */
    private Mono<VectorStoreViews.VectorStoreObject> view(Caller caller, String id, String requestId) {
        return Blocking.call(() -> repository.owned(caller.tenant(), id))
                .flatMap(store -> progress.counts(caller.tenant(), id, requestId)
                        .map(counts -> VectorStoreViews.VectorStoreObject.of(store, counts)));
    }

    private static List<FileAttacher.Requested> requested(List<String> fileIds,
            com.fasterxml.jackson.databind.JsonNode chunkingStrategy) {
        if (fileIds == null || fileIds.isEmpty()) {
            return List.of();
        }
        if (fileIds.size() > VectorStoreRequests.MAX_FILES_PER_CALL) {
            throw invalidRequest("file_ids holds at most " + VectorStoreRequests.MAX_FILES_PER_CALL + " files.",
                    "file_ids");
        }
        ChunkingStrategies.Strategy strategy = ChunkingStrategies.checked(chunkingStrategy, "chunking_strategy");
        List<FileAttacher.Requested> requested = new ArrayList<>(fileIds.size());
        for (int i = 0; i < fileIds.size(); i++) {
            String fileId = fileIds.get(i);
            if (fileId == null || fileId.isBlank()) {
                throw invalidRequest("'file_ids[" + i + "]' must be a file id.", "file_ids[" + i + "]");
            }
            requested.add(new FileAttacher.Requested(fileId, "file_ids[" + i + "]", Attributes.checked(null,
                    "attributes"), strategy));
        }
        return requested;
    }

    private static String text(String value, int max, String param) {
        if (value != null && value.length() > max) {
            throw invalidRequest("'" + param + "' has at most " + max + " characters.", param);
        }
        return value;
    }

    private static String orEmpty(String value) {
        return Objects.requireNonNullElse(value, "");
    }
}
