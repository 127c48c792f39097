package io.tianshu.gateway.rag;

import com.fasterxml.jackson.databind.ObjectMapper;
import io.swagger.v3.oas.annotations.Operation;
import io.swagger.v3.oas.annotations.Parameter;
import io.swagger.v3.oas.annotations.media.Content;
import io.swagger.v3.oas.annotations.media.Schema;
import io.swagger.v3.oas.annotations.responses.ApiResponse;
import io.swagger.v3.oas.annotations.tags.Tag;
import io.tianshu.gateway.auth.Callers;
import io.tianshu.gateway.requestid.RequestId;
import io.tianshu.gateway.web.ServerSentEvent;
import io.tianshu.gateway.web.SseStream;
import io.tianshu.rag.v1.DeleteCollectionRequest;
import io.tianshu.rag.v1.DeleteDocumentRequest;
import io.tianshu.rag.v1.Document;
import io.tianshu.rag.v1.GetDocumentRequest;
import io.tianshu.rag.v1.GetIngestJobRequest;
import io.tianshu.rag.v1.IngestDocumentsRequest;
import io.tianshu.rag.v1.WatchIngestJobRequest;
import java.net.URI;
import java.util.List;
import org.springframework.http.HttpStatus;
import org.springframework.http.MediaType;
import org.springframework.http.ResponseEntity;
import org.springframework.web.bind.annotation.DeleteMapping;
import org.springframework.web.bind.annotation.GetMapping;
import org.springframework.web.bind.annotation.PathVariable;
import org.springframework.web.bind.annotation.PostMapping;
import org.springframework.web.bind.annotation.RequestBody;
import org.springframework.web.bind.annotation.RequestParam;
import org.springframework.web.bind.annotation.ResponseStatus;
import org.springframework.web.bind.annotation.RestController;
import org.springframework.web.server.ServerWebExchange;
import reactor.core.publisher.Mono;

/**
 * Collections, their documents and ingest jobs. Each route is one RAG call for the caller's
 * tenant (from the authenticated key, never from the body), so another tenant's collections
 * and jobs are simply not found.
 */
@RestController
@Tag(name = "RAG", description = "Collections of documents, retrieval and grounded answers")
class CollectionsController {

    private final RagClient rag;
    private final RagAdmission admission;
    private final SseStream sse;
    private final ObjectMapper json;

    CollectionsController(RagClient rag, RagAdmission admission, SseStream sse, ObjectMapper json) {
        this.rag = rag;
        this.admission = admission;
        this.sse = sse;
        this.json = json;
    }

    @PostMapping("/v1/rag/collections")
    @ResponseStatus(HttpStatus.CREATED)
    @Operation(summary = "Create a collection (scope rag:write)")
    Mono<RagViews.CollectionView> create(@RequestBody RagRequests.NewCollection body, ServerWebExchange exchange) {
        return Callers.current()
                .flatMap(caller -> rag.createCollection(RagMapper.collection(body, caller.tenant()),
                        RequestId.of(exchange)))
                .map(RagViews.CollectionView::of);
    }

    @GetMapping("/v1/rag/collections")
    @Operation(summary = "List the caller's collections (scope rag:read)")
    Mono<RagViews.ListView<RagViews.CollectionView>> list(ServerWebExchange exchange) {
        return Callers.current()
                .flatMap(caller -> rag.listCollections(caller.tenant(), RequestId.of(exchange)))
                .map(collections -> RagViews.ListView.of(collections.stream().map(RagViews.CollectionView::of)
                        .toList()));
    }

    @DeleteMapping("/v1/rag/collections/{name}")
    @Operation(summary = "Delete a collection with all its documents (scope rag:write)")
    Mono<RagViews.Deleted> delete(
            @Parameter(schema = @Schema(pattern = RagRequests.COLLECTION_NAME)) @PathVariable String name,
            ServerWebExchange exchange) {
        return Callers.current()
                .flatMap(caller -> rag.deleteCollection(DeleteCollectionRequest.newBuilder()
                        .setTenantId(caller.tenant()).setCollectionId(name).build(), RequestId.of(exchange)))
                .thenReturn(new RagViews.Deleted(name, "rag.collection", true));
    }

    @PostMapping(path = "/v1/rag/collections/{name}/documents", consumes = MediaType.APPLICATION_JSON_VALUE)
    @Operation(summary = "Add or replace documents given as JSON (scope rag:write)",
            description = "Starts an ingest job and answers 202 with it; follow it at /v1/rag/jobs/{id}.")
    @ApiResponse(responseCode = "202", description = "The ingest job, started")
    Mono<ResponseEntity<RagViews.JobView>> ingestJson(
            @Parameter(schema = @Schema(pattern = RagRequests.COLLECTION_NAME)) @PathVariable String name,
            @RequestBody RagRequests.Documents body, ServerWebExchange exchange) {
        return ingest(name, Mono.fromCallable(() -> RagMapper.documents(body)), body.embeddingModel(), exchange);
    }

    @PostMapping(path = "/v1/rag/collections/{name}/documents", consumes = MediaType.MULTIPART_FORM_DATA_VALUE)
    @Operation(summary = "Upload documents as files (scope rag:write)",
            description = "PDF, HTML, Markdown or plain text files; starts an ingest job and answers 202 with it.",
            requestBody = @io.swagger.v3.oas.annotations.parameters.RequestBody(content = @Content(
                    mediaType = MediaType.MULTIPART_FORM_DATA_VALUE,
                    schema = @Schema(implementation = RagRequests.Upload.class))))
    @ApiResponse(responseCode = "202", description = "The ingest job, started")
    Mono<ResponseEntity<RagViews.JobView>> ingestUpload(
            @Parameter(schema = @Schema(pattern = RagRequests.COLLECTION_NAME)) @PathVariable String name,
            ServerWebExchange exchange) {
        return exchange.getMultipartData()
                .flatMap(parts -> MultipartDocuments.read(parts, json))
                .flatMap(upload -> ingest(name, Mono.just(upload.documents()), upload.embeddingModel(), exchange));
    }

    /**
     * Admitted (RagAdmission.ingest) once the documents are read, so that bad input costs no
     * request; the RAG service gets what is left of the tenant's ingestion quota as the most
     * the upload may need, and an accepted upload is charged what it needs.
     */
    private Mono<ResponseEntity<RagViews.JobView>> ingest(String collection, Mono<List<Document>> documents,
            String embeddingModel, ServerWebExchange exchange) {
        String requestId = RequestId.of(exchange);
        return Callers.current()
                .zipWith(documents)
                .flatMap(pair -> admission.ingest(pair.getT1(), requestId, exchange.getResponse().getHeaders(),
                        maxTokens -> rag.ingest(IngestDocumentsRequest.newBuilder()
                                .setTenantId(pair.getT1().tenant())
                                .setCollectionId(collection)
                                .addAllDocuments(pair.getT2())
                                .setEmbeddingModel(embeddingModel == null ? "" : embeddingModel)
                                .setMaxEmbeddingTokens(maxTokens)
                                .build(), requestId)))
                .map(job -> ResponseEntity.accepted().location(URI.create("/v1/rag/jobs/" + job.getJobId()))
                        .body(RagViews.JobView.of(job)));
    }

    @DeleteMapping("/v1/rag/collections/{name}/documents/{id}")
    @Operation(summary = "Delete a document and its chunks (scope rag:write)")
    Mono<RagViews.Deleted> deleteDocument(
            @Parameter(schema = @Schema(pattern = RagRequests.COLLECTION_NAME)) @PathVariable String name,
            @PathVariable String id,
            ServerWebExchange exchange) {
        return Callers.current()
                .flatMap(caller -> rag.deleteDocument(DeleteDocumentRequest.newBuilder().setTenantId(caller.tenant())
                        .setCollectionId(name).setDocumentId(id).build(), RequestId.of(exchange)))
                .thenReturn(new RagViews.Deleted(id, "rag.document", true));
    }

    @GetMapping("/v1/rag/collections/{name}/documents/{id}")
    @Operation(summary = "A document with its chunks in order, a page at a time (scope rag:read)",
            description = "What a citation's document_id and chunk_id point at: the document's metadata and its "
                    + "text as chunks (index, chunk_id, heading_path, text, overlap_chars), at most limit of them; "
                    + "next_page_token reads on. A document replaced between two pages is 400 (read it again).")
    Mono<RagViews.DocumentView> document(
            @Parameter(schema = @Schema(pattern = RagRequests.COLLECTION_NAME)) @PathVariable String name,
            @PathVariable String id,
            @Parameter(schema = @Schema(types = "integer", format = "int32", minimum = "1",
                    maximum = "" + RagRequests.MAX_DOCUMENT_PAGE, defaultValue = "100"))
            @RequestParam(defaultValue = "100") int limit,
            @RequestParam(name = "page_token", required = false) String pageToken,
            ServerWebExchange exchange) {
        GetDocumentRequest.Builder request = GetDocumentRequest.newBuilder().setCollectionId(name).setDocumentId(id)
                .setPageSize(RagRequests.documentPage(limit)).setPageToken(pageToken == null ? "" : pageToken);
        return Callers.current()
                .flatMap(caller -> rag.getDocument(request.setTenantId(caller.tenant()).build(),
                        RequestId.of(exchange)))
                .map(RagViews.DocumentView::of);
    }

    @GetMapping("/v1/rag/jobs/{id}")
    @Operation(summary = "Progress of an ingest job (scope rag:read)")
    Mono<RagViews.JobView> job(@Parameter(schema = @Schema(format = "uuid")) @PathVariable String id,
            ServerWebExchange exchange) {
        return Callers.current()
                .flatMap(caller -> rag.getJob(GetIngestJobRequest.newBuilder().setTenantId(caller.tenant())
                        .setJobId(id).build(), RequestId.of(exchange)))
                .map(RagViews.JobView::of);
    }

    @GetMapping("/v1/rag/jobs/{id}/events")
    @Operation(summary = "Server-sent events with the job's progress whenever it changes, until it ends "
            + "(scope rag:read)")
    @ApiResponse(responseCode = "200", description = "Server-sent events", content = @Content(
            mediaType = MediaType.TEXT_EVENT_STREAM_VALUE, schema = @Schema(implementation = ServerSentEvent.class)))
    Mono<Void> jobEvents(@Parameter(schema = @Schema(format = "uuid")) @PathVariable String id,
            ServerWebExchange exchange) {
        String requestId = RequestId.of(exchange);
        return Callers.current().flatMap(caller -> sse.write(exchange.getResponse(),
                rag.watchJob(WatchIngestJobRequest.newBuilder().setTenantId(caller.tenant()).setJobId(id).build(),
                        requestId).map(RagViews.JobView::of), "ingest job"));
    }
}
