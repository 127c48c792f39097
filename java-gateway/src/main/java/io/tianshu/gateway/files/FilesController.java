package io.tianshu.gateway.files;

import static io.tianshu.gateway.error.ApiException.invalidRequest;

import com.fasterxml.jackson.databind.ObjectMapper;
import io.swagger.v3.oas.annotations.Operation;
import io.swagger.v3.oas.annotations.Parameter;
import io.swagger.v3.oas.annotations.media.Content;
import io.swagger.v3.oas.annotations.media.Schema;
import io.swagger.v3.oas.annotations.responses.ApiResponse;
import io.swagger.v3.oas.annotations.tags.Tag;
import io.tianshu.gateway.auth.Caller;
import io.tianshu.gateway.auth.Callers;
import io.tianshu.gateway.auth.Scope;
import io.tianshu.gateway.config.TianshuProperties;
import io.tianshu.gateway.db.Blocking;
import io.tianshu.gateway.error.ApiException;
import io.tianshu.gateway.rag.DocumentFormats;
import io.tianshu.gateway.requestid.RequestId;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import org.springframework.core.io.buffer.DataBuffer;
import org.springframework.http.ContentDisposition;
import org.springframework.http.HttpStatus;
import org.springframework.http.MediaType;
import org.springframework.http.codec.multipart.FilePart;
import org.springframework.http.codec.multipart.FormFieldPart;
import org.springframework.http.codec.multipart.Part;
import org.springframework.http.server.reactive.ServerHttpResponse;
import org.springframework.util.MultiValueMap;
import org.springframework.web.bind.annotation.DeleteMapping;
import org.springframework.web.bind.annotation.GetMapping;
import org.springframework.web.bind.annotation.PathVariable;
import org.springframework.web.bind.annotation.PostMapping;
import org.springframework.web.bind.annotation.RequestParam;
import org.springframework.web.bind.annotation.RestController;
import org.springframework.web.server.ServerWebExchange;
import reactor.core.publisher.Flux;
import reactor.core.publisher.Mono;

/**
 * OpenAI's Files API. Uploads of purpose "batch" are batch input, checked line by line (scope
 * batch, and a batch service); uploads of purpose "assistants" are documents for vector stores,
 * of a format the RAG service reads (scope rag:write to upload or delete, rag:read to read).
 * Both are kept in the gateway's database for the caller's tenant; a batch's output and error
 * files are {@link GeneratedFiles}, served from the batch service as they are read.
 */
@RestController
@Tag(name = "Files", description = "OpenAI's Files API: batch input (purpose batch) and documents for vector "
        + "stores (purpose assistants)")
class FilesController {

    private static final String BATCH = FileStore.BATCH;
    private static final String ASSISTANTS = FileStore.ASSISTANTS;
    private static final int MAX_LIST = 10_000;

    private final FileStore store;
    private final List<GeneratedFiles> generated;
    private final List<FileAttachments> attachments;
    private final ObjectMapper json;
    private final TianshuProperties properties;

    FilesController(FileStore store, List<GeneratedFiles> generated, List<FileAttachments> attachments,
            ObjectMapper json, TianshuProperties properties) {
        this.store = store;
        this.generated = generated;
        this.attachments = attachments;
        this.json = json;
        this.properties = properties;
    }

    /** The multipart form OpenAI's SDKs send, for the OpenAPI document. */
    @Schema(name = "FileUpload")
    record Upload(@Schema(requiredMode = Schema.RequiredMode.REQUIRED, type = "string", format = "binary",
                    description = "batch: JSONL, one request per line; assistants: a text, Markdown, HTML or PDF "
                            + "document (format from the part's Content-Type, else the file name's extension)")
            String file,
            @Schema(requiredMode = Schema.RequiredMode.REQUIRED, allowableValues = {BATCH, ASSISTANTS})
            String purpose) {
    }

    @PostMapping(path = "/v1/files", consumes = MediaType.MULTIPART_FORM_DATA_VALUE)
    @Operation(summary = "Upload a batch input file (scope batch) or a document for vector stores (purpose "
            + "assistants, scope rag:write)",
            description = "batch: JSONL whose lines are {custom_id, method: POST, url, body}; every line is checked "
                    + "and the invalid ones are named in a 400. assistants: text/plain, text/markdown, text/html or "
                    + "application/pdf, not empty; another format is 400 unsupported_file. Larger than "
                    + "tianshu.files.max-bytes: 413.",
            requestBody = @io.swagger.v3.oas.annotations.parameters.RequestBody(content = @Content(
                    mediaType = MediaType.MULTIPART_FORM_DATA_VALUE, schema = @Schema(implementation = Upload.class))))
    Mono<FileViews.FileObject> upload(ServerWebExchange exchange) {
        return Callers.current().zipWith(exchange.getMultipartData()).flatMap(callerAndParts -> {
            Caller caller = callerAndParts.getT1();
            MultiValueMap<String, Part> parts = callerAndParts.getT2();
            String purpose = field(parts, "purpose");
            if (purpose == null || purpose.isBlank()) {
                throw invalidRequest("'purpose' is required; this gateway accepts \"batch\" and \"assistants\".",
                        "purpose");
            }
            if (!BATCH.equals(purpose) && !ASSISTANTS.equals(purpose)) {
                throw invalidRequest("purpose '" + purpose + "' is not supported: this gateway keeps files for the "
                        + "Batch API (purpose \"batch\") and for vector stores (purpose \"assistants\").", "purpose");
            }
            boolean batch = BATCH.equals(purpose);
            require(caller, batch ? Scope.BATCH : Scope.RAG_WRITE, exchange);
            FilePart file = parts.getOrDefault("file", List.of()).stream().filter(FilePart.class::isInstance)
                    .map(FilePart.class::cast).findFirst()
                    .orElseThrow(() -> invalidRequest("The upload has no 'file' part; send the "
                            + (batch ? "JSONL file" : "document") + " as 'file'.", "file"));
            String tenant = caller.tenant();
            if (batch) {
                String filename = file.filename() == null || file.filename().isBlank() ? "batch.jsonl"
                        : file.filename();
                return available().then(viaTemporaryFile(file, path -> checkAndStore(tenant, filename, path)));
            }
            String filename = file.filename() == null || file.filename().isBlank() ? "document" : file.filename();
            MediaType declared = file.headers().getContentType();
            String type = documentType(declared == null ? null : declared.toString(), filename);
            return viaTemporaryFile(file, path -> storeDocument(tenant, filename, type, path));
        });
    }

    /** Through a temporary file: checked and stored from disk, so memory holds one line at a time. */
    private Mono<FileViews.FileObject> viaTemporaryFile(FilePart file, Checker checkAndStore) {
        return Mono.usingWhen(Blocking.call(() -> Files.createTempFile("tianshu-upload-", ".part")),
                path -> file.transferTo(path).then(Blocking.call(() -> checkAndStore.apply(path))),
                path -> Blocking.call(() -> Files.deleteIfExists(path)));
    }

    private interface Checker {
        FileViews.FileObject apply(Path content) throws IOException;
    }

    private FileViews.FileObject checkAndStore(String tenant, String filename, Path content) throws IOException {
        checkSize(content);
        BatchLines.Report report;
        try (InputStream in = Files.newInputStream(content)) {
            report = BatchLines.check(in, json);
        }
        if (!report.valid()) {
            throw new ApiException(HttpStatus.BAD_REQUEST, "invalid_request_error", report.describe(), "file",
                    "invalid_batch_file");
        }
        return FileViews.FileObject.of(store.insert(tenant, BATCH, filename, content, report.lines(), null));
    }

    /** A document is stored as it came: the RAG service reads (and may refuse) it when a vector store takes it. */
    private FileViews.FileObject storeDocument(String tenant, String filename, String type, Path content)
            throws IOException {
        checkSize(content);
        if (Files.size(content) == 0) {
            throw invalidRequest("The file '" + filename + "' is empty.", "file");
        }
        return FileViews.FileObject.of(store.insert(tenant, ASSISTANTS, filename, content, 0, type));
    }

    private void checkSize(Path content) throws IOException {
        long limit = properties.files().maxBytes().toBytes();
        if (Files.size(content) > limit) {
            throw ApiException.fileTooLarge(limit);
        }
    }

    /** The document's format, one the RAG service reads, or a 400 naming the file. */
    private static String documentType(String declared, String filename) {
        String type = DocumentFormats.of(declared, filename);
        if (type == null) {
            throw new ApiException(HttpStatus.BAD_REQUEST, "invalid_request_error", "Cannot tell the format of '"
                    + filename + "': give the part a Content-Type (text/plain, text/markdown, text/html, "
                    + "application/pdf) or the file a known extension (.txt, .md, .html, .pdf).", "file",
                    "unsupported_file");
        }
        if (!DocumentFormats.SUPPORTED.contains(type)) {
            throw new ApiException(HttpStatus.BAD_REQUEST, "invalid_request_error", "Files of purpose "
                    + "\"assistants\" are documents for vector stores: text/plain, text/markdown, text/html or "
                    + "application/pdf; '" + filename + "' is " + type + ".", "file", "unsupported_file");
        }
        return type;
    }

    @GetMapping("/v1/files")
    @Operation(summary = "List the caller's uploaded files, newest first (scope batch for batch files, rag:read for "
            + "purpose assistants)",
            description = "Without purpose: the purposes the key may read. Without a batch service only "
                    + "purpose=assistants lists (otherwise 503 batch_unavailable).")
    Mono<FileViews.FileList> list(
            @Parameter(schema = @Schema(description = "batch or assistants; absent = both, as the key's scopes allow"))
            @RequestParam(required = false) String purpose,
            @Parameter(description = "the last id of the previous page") @RequestParam(required = false) String after,
            @Parameter(schema = @Schema(types = "integer", format = "int32", minimum = "1",
                    maximum = "10000", defaultValue = "10000"))
            @RequestParam(defaultValue = "10000") int limit,
            @Parameter(schema = @Schema(allowableValues = {"asc", "desc"}, defaultValue = "desc"))
            @RequestParam(defaultValue = "desc") String order,
            ServerWebExchange exchange) {
        if (limit < 1 || limit > MAX_LIST) {
            throw invalidRequest("limit must be between 1 and " + MAX_LIST + ".", "limit");
        }
        if (!order.equals("asc") && !order.equals("desc")) {
            throw invalidRequest("order must be \"asc\" or \"desc\".", "order");
        }
        return Callers.current().flatMap(caller -> {
            List<String> purposes = readablePurposes(caller, purpose, exchange);
            Mono<Void> ready = purposes.contains(BATCH) || !purposes.contains(ASSISTANTS) ? available() : Mono.empty();
            return ready.then(Blocking.call(() -> {
                List<FileStore.StoredFile> page = store.list(caller.tenant(), purposes, after, order.equals("asc"),
                        limit + 1);
                boolean more = page.size() > limit;
                return FileViews.FileList.of(page.stream().limit(limit).map(FileViews.FileObject::of).toList(),
                        more);
            }));
        });
    }

    /** The purposes a list shows: the one asked for (403 without its scope), or all the key may read. */
    private static List<String> readablePurposes(Caller caller, String purpose, ServerWebExchange exchange) {
        if (purpose != null) {
            require(caller, ASSISTANTS.equals(purpose) ? Scope.RAG_READ : Scope.BATCH, exchange);
            return List.of(purpose);
        }
        List<String> purposes = new ArrayList<>(2);
        if (caller.hasScope(Scope.BATCH)) {
            purposes.add(BATCH);
        }
        if (caller.hasScope(Scope.RAG_READ)) {
            purposes.add(ASSISTANTS);
        }
        if (purposes.isEmpty()) {
            throw insufficientScope(exchange);
        }
        return purposes;
    }

    @GetMapping("/v1/files/{id}")
    @Operation(summary = "An uploaded file, or a batch's output or error file (scope batch; rag:read for purpose "
            + "assistants)")
    Mono<FileViews.FileObject> get(@PathVariable String id, ServerWebExchange exchange) {
        return Callers.current().flatMap(caller -> {
            Optional<GeneratedFiles> source = generatedSource(id);
            if (source.isPresent()) {
                require(caller, Scope.BATCH, exchange);
                return available().then(source.get().describe(caller.tenant(), id, RequestId.of(exchange)));
            }
            return stored(caller, id, Scope.RAG_READ, exchange).map(FileViews.FileObject::of);
        });
    }

    @GetMapping("/v1/files/{id}/content")
    @Operation(summary = "A file's content, streamed (scope batch; rag:read for purpose assistants)")
    @ApiResponse(responseCode = "200", description = "The file's bytes", content = @Content(
            mediaType = MediaType.APPLICATION_OCTET_STREAM_VALUE, schema = @Schema(type = "string", format = "binary")))
    Mono<Void> content(@PathVariable String id, ServerWebExchange exchange) {
        ServerHttpResponse response = exchange.getResponse();
        return Callers.current().flatMap(caller -> {
            Optional<GeneratedFiles> source = generatedSource(id);
            Flux<byte[]> pieces;
            if (source.isPresent()) {
                require(caller, Scope.BATCH, exchange);
                // Headers once the first piece is there: a file that turns out missing answers JSON.
                pieces = available().thenMany(source.get().content(caller.tenant(), id, RequestId.of(exchange)))
                        .switchOnFirst((first, all) -> {
                            if (first.hasValue()) {
                                attachment(response, id + ".jsonl");
                            }
                            return all;
                        });
            } else {
                pieces = stored(caller, id, Scope.RAG_READ, exchange).flatMapMany(file -> {
                    attachment(response, file.filename());
                    response.getHeaders().setContentLength(file.bytes());
                    return slices(file);
                });
            }
            return response.writeWith(pieces.map(bytes -> (DataBuffer) response.bufferFactory().wrap(bytes)));
        });
    }

    @DeleteMapping("/v1/files/{id}")
    @Operation(summary = "Delete an uploaded file (scope batch; rag:write for purpose assistants)",
            description = "Batches made from a batch file keep running; a document is removed from every vector "
                    + "store first.")
    Mono<FileViews.FileDeleted> delete(@PathVariable String id, ServerWebExchange exchange) {
        return Callers.current().flatMap(caller -> {
            if (generatedSource(id).isPresent()) {
                require(caller, Scope.BATCH, exchange);
                throw invalidRequest("'" + id + "' holds a batch's results; it stays as long as the batch does.", "id");
            }
            return stored(caller, id, Scope.RAG_WRITE, exchange)
                    .flatMap(file -> ASSISTANTS.equals(file.purpose())
                            ? Flux.fromIterable(attachments)
                                    .concatMap(a -> a.detach(caller.tenant(), id, RequestId.of(exchange))).then()
                            : Mono.<Void>empty())
                    .then(Blocking.call(() -> {
                        if (!store.delete(caller.tenant(), id)) {
                            throw ApiException.fileNotFound(id);
                        }
                        return new FileViews.FileDeleted(id, "file", true);
                    }));
        });
    }

    /**
     * The tenant's stored file: a document needs {@code documentScope}, a batch file the batch
     * scope and a batch service. A file of another tenant is 404 like one that does not exist.
     */
    private Mono<FileStore.StoredFile> stored(Caller caller, String id, Scope documentScope,
            ServerWebExchange exchange) {
        return Blocking.call(() -> store.find(caller.tenant(), id)).flatMap(found -> {
            if (found.isPresent() && ASSISTANTS.equals(found.get().purpose())) {
                require(caller, documentScope, exchange);
                return Mono.just(found.get());
            }
            if (found.isEmpty() && !caller.hasScope(Scope.BATCH)) {
                return Mono.error(ApiException.fileNotFound(id));
            }
            require(caller, Scope.BATCH, exchange);
            return available().then(Mono.fromCallable(() -> found.orElseThrow(() -> ApiException.fileNotFound(id))));
        });
    }

    /** One slice per database round trip, the next fetched only once the previous was written. */
    private Flux<byte[]> slices(FileStore.StoredFile file) {
        int count = (int) ((file.bytes() + FileStore.SLICE_BYTES - 1) / FileStore.SLICE_BYTES);
        return Flux.range(0, count).concatMap(i -> Blocking.call(() -> store.slice(file.id(),
                (long) i * FileStore.SLICE_BYTES, FileStore.SLICE_BYTES)), 0);
    }

    private static void attachment(ServerHttpResponse response, String filename) {
        response.getHeaders().setContentType(MediaType.APPLICATION_OCTET_STREAM);
        response.getHeaders().setContentDisposition(ContentDisposition.attachment().filename(filename).build());
    }

    private Optional<GeneratedFiles> generatedSource(String id) {
        return generated.stream().filter(g -> g.owns(id)).findFirst();
    }

    /** Batch files are only good for batches: without a batch service they are off. */
    private Mono<Void> available() {
        return properties.batch().configured() ? Mono.empty() : Mono.error(ApiException.batchUnavailable());
    }

    private static void require(Caller caller, Scope scope, ServerWebExchange exchange) {
        if (!caller.hasScope(scope)) {
            throw insufficientScope(exchange);
        }
    }

    private static ApiException insufficientScope(ServerWebExchange exchange) {
        return ApiException.insufficientScope(exchange.getRequest().getMethod().name(),
                exchange.getRequest().getPath().value());
    }

    private static String field(MultiValueMap<String, Part> parts, String name) {
        return parts.getOrDefault(name, List.of()).stream().filter(FormFieldPart.class::isInstance)
                .map(part -> ((FormFieldPart) part).value()).findFirst().orElse(null);
    }
}
