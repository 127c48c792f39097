package io.tianshu.gateway.batches;

import static io.tianshu.gateway.error.ApiException.invalidRequest;

import com.fasterxml.jackson.databind.ObjectMapper;
import io.swagger.v3.oas.annotations.Operation;
import io.swagger.v3.oas.annotations.Parameter;
import io.swagger.v3.oas.annotations.media.Schema;
import io.swagger.v3.oas.annotations.tags.Tag;
import io.tianshu.gateway.auth.Callers;
import io.tianshu.gateway.db.Blocking;
import io.tianshu.gateway.error.ApiException;
import io.tianshu.gateway.files.BatchLines;
import io.tianshu.gateway.files.FileStore;
import io.tianshu.gateway.requestid.RequestId;
import io.tianshu.jobs.v1.Batch;
import io.tianshu.jobs.v1.CreateBatchRequest;
import io.tianshu.jobs.v1.Endpoint;
import io.tianshu.jobs.v1.InputLine;
import io.tianshu.jobs.v1.ListBatchesRequest;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.springframework.web.bind.annotation.GetMapping;
import org.springframework.web.bind.annotation.PathVariable;
import org.springframework.web.bind.annotation.PostMapping;
import org.springframework.web.bind.annotation.RequestBody;
import org.springframework.web.bind.annotation.RequestHeader;
import org.springframework.web.bind.annotation.RequestParam;
import org.springframework.web.bind.annotation.RestController;
import org.springframework.web.server.ServerWebExchange;
import reactor.core.publisher.Mono;

/**
 * OpenAI's Batch API over JobsService. Each route is one call for the caller's tenant (from
 * the authenticated key, never from the body), so another tenant's batch is simply not found.
 */
@RestController
@Tag(name = "Batches", description = "Offline batches of chat or embedding requests (OpenAI's Batch API)")
class BatchesController {

    private static final int MAX_LIST = 100;
    // Lines whose url differs from the batch's endpoint named in one error message.
    private static final int MISMATCHES_SHOWN = 20;

    private final JobsClient jobs;
    private final FileStore files;
    private final BatchInputs inputs;
    private final BatchModels models;
    private final ObjectMapper json;

    BatchesController(JobsClient jobs, FileStore files, BatchInputs inputs, BatchModels models, ObjectMapper json) {
        this.jobs = jobs;
        this.files = files;
        this.inputs = inputs;
        this.models = models;
        this.json = json;
    }

    @PostMapping("/v1/batches")
    @Operation(summary = "Create a batch from an uploaded file (scope batch)",
            description = "Every line's url must be the batch's endpoint. Every line's body goes through the "
                    + "endpoint's own checks (a body the endpoint would refuse refuses the batch, 400 naming the "
                    + "lines), and every model the lines name through the same policy as on the endpoint itself "
                    + "(aliases, served models of the endpoint's kind, the key's and tenant's allowed models): one "
                    + "refused model refuses the batch, with the endpoint's status and code, naming the lines. "
                    + "stream is refused in a batch line. A repeated Idempotency-Key returns the "
                    + "first batch. Tianshu's extension: \"webhook_url\", called once the batch is final.")
    Mono<BatchViews.BatchObject> create(@RequestBody BatchRequests.NewBatch body,
            @Parameter(description = "makes a retried creation return the same batch",
                    schema = @Schema(pattern = BatchRequests.IDEMPOTENCY_KEY_PATTERN))
            @RequestHeader(name = "Idempotency-Key", required = false) String idempotencyKey,
            ServerWebExchange exchange) {
        Endpoint endpoint = body.checkedEndpoint();
        CreateBatchRequest.Builder request = CreateBatchRequest.newBuilder()
                .setEndpoint(endpoint)
                .setCompletionWindow(body.checkedWindow())
                .putAllMetadata(body.checkedMetadata())
                .setWebhookUrl(body.checkedWebhookUrl())
                .setIdempotencyKey(BatchRequests.checkedIdempotencyKey(idempotencyKey));
        String requestId = RequestId.of(exchange);
        return jobs.available().then(Callers.current()).flatMap(caller -> Blocking.call(() ->
                addLines(request, caller.tenant(), body.inputFileId(), body.endpoint()))
                .flatMap(named -> models.check(caller, endpoint, named))
                .then(Mono.fromSupplier(() -> request.setTenantId(caller.tenant()).build()))
                .flatMap(built -> jobs.create(built, requestId)).flatMap(batch -> Blocking.call(() ->
                BatchViews.BatchObject.of(batch, inputs.remember(batch.getBatchId(), caller.tenant(),
                        body.inputFileId())))));
    }

    /**
     * The file's lines into the request, each line's model as the served id it stands for;
     * 400 when the file is missing or calls another endpoint.
     *
     * @return the models the lines name, for {@link BatchModels#check}
     */
    private BatchModels.Named addLines(CreateBatchRequest.Builder request, String tenant, String fileId,
            String endpoint) {
        FileStore.StoredFile file = files.find(tenant, fileId)
                .orElseThrow(() -> ApiException.fileNotFound(fileId, "input_file_id"));
        if (!"batch".equals(file.purpose())) {
            throw invalidRequest("File " + fileId + " has purpose '" + file.purpose() + "', not \"batch\".",
                    "input_file_id");
        }
        List<Integer> mismatches = new ArrayList<>();
        BatchModels.Named named = models.collector();
        BatchLineRequests translated = new BatchLineRequests(request.getEndpoint(), json, named);
        try (InputStream in = files.open(file)) {
            BatchLines.read(in, json, read -> {
                if (!read.url().equals(endpoint)) {
                    mismatches.add(read.number());
                } else if (mismatches.isEmpty()) {
                    InputLine line = translated.translate(read);
                    if (line != null) {
                        request.addLines(line);
                    }
                }
            });
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        if (!mismatches.isEmpty()) {
            throw invalidRequest("Every line must call the batch's endpoint " + endpoint + "; "
                    + mismatches.size() + " do not, on lines " + mismatches.subList(0, Math.min(MISMATCHES_SHOWN,
                    mismatches.size())) + (mismatches.size() > MISMATCHES_SHOWN ? " and more." : "."),
                    "input_file_id");
        }
        if (!translated.problems().isEmpty()) {
            // As the endpoint itself would refuse each of these bodies, with their line numbers.
            throw invalidRequest(BatchLines.Report.invalid(translated.problems()), "input_file_id");
        }
        return named;
    }

    @GetMapping("/v1/batches/{id}")
    @Operation(summary = "A batch: status, counts, usage, result files (scope batch)")
    Mono<BatchViews.BatchObject> get(@PathVariable String id, ServerWebExchange exchange) {
        return jobs.available().then(Callers.current())
                .flatMap(caller -> jobs.get(caller.tenant(), id, RequestId.of(exchange)))
                .flatMap(this::view);
    }

    @GetMapping("/v1/batches")
    @Operation(summary = "The caller's batches, newest first; pass last_id as after for the next page (scope batch)")
    Mono<BatchViews.BatchList> list(
            @Parameter(description = "the last id of the previous page") @RequestParam(required = false) String after,
            @Parameter(schema = @Schema(types = "integer", format = "int32", minimum = "1",
                    maximum = "" + MAX_LIST, defaultValue = "20"))
            @RequestParam(defaultValue = "20") int limit, ServerWebExchange exchange) {
        if (limit < 1 || limit > MAX_LIST) {
            throw invalidRequest("limit must be between 1 and " + MAX_LIST + ".", "limit");
        }
        // The service's page token is the id of the last batch of the page, so OpenAI's
        // "after=<last id>" is exactly the token of the next page.
        return jobs.available().then(Callers.current())
                .flatMap(caller -> jobs.list(ListBatchesRequest.newBuilder().setTenantId(caller.tenant())
                        .setPageSize(limit).setPageToken(after == null ? "" : after).build(), RequestId.of(exchange)))
                .flatMap(page -> Blocking.call(() -> {
                    Map<String, String> inputFiles = inputs.filesOf(page.getBatchesList().stream()
                            .map(Batch::getBatchId).toList());
                    return BatchViews.BatchList.of(page.getBatchesList().stream()
                            .map(b -> BatchViews.BatchObject.of(b, inputFiles.getOrDefault(b.getBatchId(), "")))
                            .toList(), !page.getNextPageToken().isEmpty());
                }));
    }

    @PostMapping("/v1/batches/{id}/cancel")
    @Operation(summary = "Cancel a batch: no new line starts, finished lines are kept (scope batch)")
    Mono<BatchViews.BatchObject> cancel(@PathVariable String id, ServerWebExchange exchange) {
        return jobs.available().then(Callers.current())
                .flatMap(caller -> jobs.cancel(caller.tenant(), id, RequestId.of(exchange)))
                .flatMap(this::view);
    }

    private Mono<BatchViews.BatchObject> view(Batch batch) {
        return Blocking.call(() -> BatchViews.BatchObject.of(batch,
                inputs.filesOf(List.of(batch.getBatchId())).getOrDefault(batch.getBatchId(), "")));
    }
}
