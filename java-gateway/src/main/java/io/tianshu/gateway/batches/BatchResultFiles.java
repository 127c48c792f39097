package io.tianshu.gateway.batches;

import com.fasterxml.jackson.databind.ObjectMapper;
import io.tianshu.gateway.error.ApiException;
import io.tianshu.gateway.files.FileViews;
import io.tianshu.gateway.files.GeneratedFiles;
import io.tianshu.jobs.v1.Batch;
import io.tianshu.jobs.v1.BatchItemResult;
import io.tianshu.jobs.v1.BatchStatus;
import io.tianshu.jobs.v1.GetBatchResultsRequest;
import io.tianshu.jobs.v1.GetBatchResultsResponse;
import io.tianshu.jobs.v1.ResultKind;
import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.springframework.stereotype.Component;
import reactor.core.publisher.Flux;
import reactor.core.publisher.Mono;

/**
 * A batch's output and error files. They are not copied anywhere: their ids are derived from
 * the batch id ({@code file-<batch_id>-output}, {@code file-<batch_id>-errors}) and their
 * content is the batch service's results, read a page of GetBatchResults at a time as the
 * caller downloads them, each written as one line of OpenAI's output format by
 * {@link BatchResultLines}. A file exists while the batch has lines of its kind.
 */
@Component
class BatchResultFiles implements GeneratedFiles {

    private static final Pattern ID = Pattern.compile("file-(batch_[A-Za-z0-9_]+)-(output|errors)");
    // Lines per GetBatchResults page: a chat completion line is about 1 KB, so a page is well
    // under the channel's message limit and one page is what a download holds in memory.
    static final int PAGE_LINES = 500;

    private final JobsClient jobs;
    private final ObjectMapper json;

    BatchResultFiles(JobsClient jobs, ObjectMapper json) {
        this.jobs = jobs;
        this.json = json;
    }

    static String outputId(String batchId) {
        return "file-" + batchId + "-output";
    }

    static String errorsId(String batchId) {
        return "file-" + batchId + "-errors";
    }

    static boolean hasOutput(Batch b) {
        return b.getRequestCounts().getCompleted() > 0;
    }

    /** Failed lines; and on expiry the lines that never ran, which are errors (batch_expired) too. */
    static boolean hasErrors(Batch b) {
        return b.getRequestCounts().getFailed() > 0
                || (b.getStatus() == BatchStatus.BATCH_STATUS_EXPIRED && b.getRequestCounts().getSkipped() > 0);
    }

    @Override
    public boolean owns(String fileId) {
        return ID.matcher(fileId).matches();
    }

    @Override
    public Mono<FileViews.FileObject> describe(String tenant, String fileId, String requestId) {
        Target target = target(fileId);
        return existing(tenant, target, fileId, requestId).flatMap(batch -> lines(tenant, target, requestId)
                .map(bytes -> (long) bytes.length).reduce(0L, Long::sum)
                .map(size -> FileViews.FileObject.of(fileId, size, finishedAt(batch),
                        batch.getBatchId() + "_" + target.kindName() + ".jsonl", "batch_output")));
    }

    @Override
    public Flux<byte[]> content(String tenant, String fileId, String requestId) {
        Target target = target(fileId);
        return existing(tenant, target, fileId, requestId).flatMapMany(batch -> lines(tenant, target, requestId));
    }

    private Mono<Batch> existing(String tenant, Target target, String fileId, String requestId) {
        return jobs.get(tenant, target.batchId(), requestId)
                .filter(batch -> target.kind() == ResultKind.RESULT_KIND_OUTPUT ? hasOutput(batch) : hasErrors(batch))
                .switchIfEmpty(Mono.error(() -> ApiException.fileNotFound(fileId)));
    }

    /**
     * One byte[] per page: its JSONL lines, each ending in a newline. The next page is asked
     * for only once the previous one has been taken by the writer, so a slow reader never
     * makes the gateway hold more than one page.
     */
    private Flux<byte[]> lines(String tenant, Target target, String requestId) {
        return page(tenant, target, "", requestId);
    }

    private Flux<byte[]> page(String tenant, Target target, String token, String requestId) {
        GetBatchResultsRequest request = GetBatchResultsRequest.newBuilder().setTenantId(tenant)
                .setBatchId(target.batchId()).setKind(target.kind()).setPageSize(PAGE_LINES).setPageToken(token)
                .build();
        return jobs.results(request, requestId).flatMapMany(response -> {
            Flux<byte[]> here = response.getResultsCount() == 0 ? Flux.empty() : Flux.just(jsonl(response));
            String next = response.getNextPageToken();
            return next.isEmpty() ? here : here.concatWith(Flux.defer(() -> page(tenant, target, next, requestId)));
        });
    }

    private byte[] jsonl(GetBatchResultsResponse response) {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        for (BatchItemResult result : response.getResultsList()) {
            out.writeBytes(BatchResultLines.line(result, json).getBytes(StandardCharsets.UTF_8));
            out.write('\n');
        }
        return out.toByteArray();
    }

    /** When the results stopped growing, else when the batch was created. */
    private static long finishedAt(Batch b) {
        if (b.hasCompletedAt()) {
            return b.getCompletedAt().getSeconds();
        }
        if (b.hasFinalizingAt()) {
            return b.getFinalizingAt().getSeconds();
        }
        return b.getCreatedAt().getSeconds();
    }

    private record Target(String batchId, ResultKind kind) {
        String kindName() {
            return kind == ResultKind.RESULT_KIND_OUTPUT ? "output" : "errors";
        }
    }

    private static Target target(String fileId) {
        Matcher m = ID.matcher(fileId);
        if (!m.matches()) {
            throw new IllegalArgumentException(fileId);
        }
        return new Target(m.group(1), m.group(2).equals("output") ? ResultKind.RESULT_KIND_OUTPUT
                : ResultKind.RESULT_KIND_ERRORS);
    }
}
