package io.tianshu.gateway.files;

import static io.tianshu.gateway.error.ApiException.invalidRequest;

import com.fasterxml.jackson.databind.ObjectMapper;
import io.swagger.v3.oas.annotations.Operation;
import io.swagger.v3.oas.annotations.Parameter;
import io.swagger.v3.oas.annotations.media.Content;
import io.swagger.v3.oas.annotations.media.Schema;
import io.swagger.v3.oas.annotations.responses.ApiResponse;
import io.swagger.v3.oas.annotations.tags.Tag;
import io.tianshu.gateway.auth.Callers;
import io.tianshu.gateway.config.TianshuProperties;
import io.tianshu.gateway.db.Blocking;
import io.tianshu.gateway.error.ApiException;
import io.tianshu.gateway.requestid.RequestId;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
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
 * OpenAI's Files API for batch input: uploads (purpose "batch" only) are checked line by line
 * and kept in the gateway's database for the caller's tenant; a batch's output and error files
 * are {@link GeneratedFiles}, served from the batch service as they are read.
 */
@RestController
@Tag(name = "Files", description = "Batch input files (OpenAI's Files API, purpose batch)")
class FilesController {

    private static final String BATCH = "batch";
    private static final int MAX_LIST = 10_000;

    private final FileStore store;
    private final List<GeneratedFiles> generated;
    private final ObjectMapper json;
    private final TianshuProperties properties;

    FilesController(FileStore store, List<GeneratedFiles> generated, ObjectMapper json,
            TianshuProperties properties) {
        this.store = store;
        this.generated = generated;
        this.json = json;
        this.properties = properties;
    }

    /** The multipart form OpenAI's SDKs send, for the OpenAPI document. */
    @Schema(name = "FileUpload")
    record Upload(@Schema(requiredMode = Schema.RequiredMode.REQUIRED, type = "string", format = "binary",
                    description = "JSONL, one request per line") String file,
            @Schema(requiredMode = Schema.RequiredMode.REQUIRED, allowableValues = BATCH) String purpose) {
    }

    @PostMapping(path = "/v1/files", consumes = MediaType.MULTIPART_FORM_DATA_VALUE)
    @Operation(summary = "Upload a batch input file (scope batch)",
            description = "JSONL whose lines are {custom_id, method: POST, url, body}; every line is checked and the "
                    + "invalid ones are named in a 400. Larger than tianshu.files.max-bytes: 413.",
            requestBody = @io.swagger.v3.oas.annotations.parameters.RequestBody(content = @Content(
                    mediaType = MediaType.MULTIPART_FORM_DATA_VALUE, schema = @Schema(implementation = Upload.class))))
    Mono<FileViews.FileObject> upload(ServerWebExchange exchange) {
        return available().then(Callers.current()).zipWith(exchange.getMultipartData()).flatMap(callerAndParts -> {
            MultiValueMap<String, Part> parts = callerAndParts.getT2();
            String purpose = field(parts, "purpose");
            if (purpose == null || purpose.isBlank()) {
                throw invalidRequest("'purpose' is required; this gateway accepts \"batch\".", "purpose");
            }
            if (!BATCH.equals(purpose)) {
                throw invalidRequest("purpose '" + purpose + "' is not supported: this gateway keeps files for the "
                        + "Batch API only (purpose \"batch\").", "purpose");
            }
            FilePart file = parts.getOrDefault("file", List.of()).stream().filter(FilePart.class::isInstance)
                    .map(FilePart.class::cast).findFirst()
                    .orElseThrow(() -> invalidRequest("The upload has no 'file' part; send the JSONL file as 'file'.",
                            "file"));
            String tenant = callerAndParts.getT1().tenant();
            String filename = file.filename() == null || file.filename().isBlank() ? "batch.jsonl" : file.filename();
            // Through a temporary file: checked and stored from disk, so memory holds one line at a time.
            return Mono.usingWhen(Blocking.call(() -> Files.createTempFile("tianshu-upload-", ".jsonl")),
                    path -> file.transferTo(path).then(Blocking.call(() -> checkAndStore(tenant, filename, path))),
                    path -> Blocking.call(() -> Files.deleteIfExists(path)));
        });
    }

    private FileViews.FileObject checkAndStore(String tenant, String filename, Path content) throws IOException {
        long limit = properties.files().maxBytes().toBytes();
        if (Files.size(content) > limit) {
            throw ApiException.fileTooLarge(limit);
        }
        BatchLines.Report report;
        try (InputStream in = Files.newInputStream(content)) {
            report = BatchLines.check(in, json);
        }
        if (!report.valid()) {
            throw new ApiException(HttpStatus.BAD_REQUEST, "invalid_request_error", report.describe(), "file",
                    "invalid_batch_file");
        }
        return FileViews.FileObject.of(store.insert(tenant, BATCH, filename, content, report.lines()));
    }

    @GetMapping("/v1/files")
    @Operation(summary = "List the caller's uploaded files, newest first (scope batch)")
    Mono<FileViews.FileList> list(@RequestParam(required = false) String purpose,
            @Parameter(description = "the last id of the previous page") @RequestParam(required = false) String after,
            @Parameter(schema = @Schema(types = "integer", format = "int32", minimum = "1",
                    maximum = "10000", defaultValue = "10000"))
            @RequestParam(defaultValue = "10000") int limit,
            @Parameter(schema = @Schema(allowableValues = {"asc", "desc"}, defaultValue = "desc"))
            @RequestParam(defaultValue = "desc") String order) {
        if (limit < 1 || limit > MAX_LIST) {
            throw invalidRequest("limit must be between 1 and " + MAX_LIST + ".", "limit");
        }
        if (!order.equals("asc") && !order.equals("desc")) {
            throw invalidRequest("order must be \"asc\" or \"desc\".", "order");
        }
        return available().then(Callers.current()).flatMap(caller -> Blocking.call(() -> {
            List<FileStore.StoredFile> page = store.list(caller.tenant(), purpose, after, order.equals("asc"),
                    limit + 1);
            boolean more = page.size() > limit;
            return FileViews.FileList.of(page.stream().limit(limit).map(FileViews.FileObject::of).toList(), more);
        }));
    }

    @GetMapping("/v1/files/{id}")
    @Operation(summary = "An uploaded file, or a batch's output or error file (scope batch)")
    Mono<FileViews.FileObject> get(@PathVariable String id, ServerWebExchange exchange) {
        return available().then(Callers.current()).flatMap(caller -> {
            Optional<GeneratedFiles> source = generatedSource(id);
            if (source.isPresent()) {
                return source.get().describe(caller.tenant(), id, RequestId.of(exchange));
            }
            return Blocking.call(() -> FileViews.FileObject.of(stored(caller.tenant(), id)));
        });
    }

    @GetMapping("/v1/files/{id}/content")
    @Operation(summary = "A file's content, streamed (scope batch)")
    @ApiResponse(responseCode = "200", description = "The file's bytes", content = @Content(
            mediaType = MediaType.APPLICATION_OCTET_STREAM_VALUE, schema = @Schema(type = "string", format = "binary")))
    Mono<Void> content(@PathVariable String id, ServerWebExchange exchange) {
        ServerHttpResponse response = exchange.getResponse();
        return available().then(Callers.current()).flatMap(caller -> {
            Optional<GeneratedFiles> source = generatedSource(id);
            Flux<byte[]> pieces;
            if (source.isPresent()) {
                // Headers once the first piece is there: a file that turns out missing answers JSON.
                pieces = source.get().content(caller.tenant(), id, RequestId.of(exchange))
                        .switchOnFirst((first, all) -> {
                            if (first.hasValue()) {
                                attachment(response, id + ".jsonl");
                            }
                            return all;
                        });
            } else {
                pieces = Blocking.call(() -> stored(caller.tenant(), id)).flatMapMany(file -> {
                    attachment(response, file.filename());
                    response.getHeaders().setContentLength(file.bytes());
                    return slices(file);
                });
            }
            return response.writeWith(pieces.map(bytes -> (DataBuffer) response.bufferFactory().wrap(bytes)));
        });
    }

    @DeleteMapping("/v1/files/{id}")
    @Operation(summary = "Delete an uploaded file (scope batch); batches made from it keep running")
    Mono<FileViews.FileDeleted> delete(@PathVariable String id) {
        if (generatedSource(id).isPresent()) {
            throw invalidRequest("'" + id + "' holds a batch's results; it stays as long as the batch does.", "id");
        }
        return available().then(Callers.current()).flatMap(caller -> Blocking.call(() -> {
            if (!store.delete(caller.tenant(), id)) {
                throw ApiException.fileNotFound(id);
            }
            return new FileViews.FileDeleted(id, "file", true);
        }));
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

    private FileStore.StoredFile stored(String tenant, String id) {
        return store.find(tenant, id).orElseThrow(() -> ApiException.fileNotFound(id));
    }

    private Optional<GeneratedFiles> generatedSource(String id) {
        return generated.stream().filter(g -> g.owns(id)).findFirst();
    }

    /** Uploads are only good for batches: without a batch service the whole API is off. */
    private Mono<Void> available() {
        return properties.batch().configured() ? Mono.empty() : Mono.error(ApiException.batchUnavailable());
    }

    private static String field(MultiValueMap<String, Part> parts, String name) {
        return parts.getOrDefault(name, List.of()).stream().filter(FormFieldPart.class::isInstance)
                .map(part -> ((FormFieldPart) part).value()).findFirst().orElse(null);
    }
}
