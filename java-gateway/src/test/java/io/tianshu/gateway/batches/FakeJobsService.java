package io.tianshu.gateway.batches;

import com.google.protobuf.Timestamp;
import io.grpc.Status;
import io.grpc.stub.StreamObserver;
import io.tianshu.jobs.v1.Batch;
import io.tianshu.jobs.v1.BatchStatus;
import io.tianshu.jobs.v1.CancelBatchRequest;
import io.tianshu.jobs.v1.CancelBatchResponse;
import io.tianshu.jobs.v1.CreateBatchRequest;
import io.tianshu.jobs.v1.CreateBatchResponse;
import io.tianshu.jobs.v1.GetBatchRequest;
import io.tianshu.jobs.v1.GetBatchResponse;
import io.tianshu.inference.v1.Choice;
import io.tianshu.inference.v1.FinishReason;
import io.tianshu.inference.v1.GenerateResponse;
import io.tianshu.inference.v1.Usage;
import io.tianshu.jobs.v1.BatchItemResult;
import io.tianshu.jobs.v1.GetBatchResultsRequest;
import io.tianshu.jobs.v1.ItemOutcome;
import io.tianshu.jobs.v1.GetBatchResultsResponse;
import io.tianshu.jobs.v1.JobsServiceGrpc;
import io.tianshu.jobs.v1.ListBatchesRequest;
import io.tianshu.jobs.v1.ListBatchesResponse;
import io.tianshu.jobs.v1.ListUsageRequest;
import io.tianshu.jobs.v1.ListUsageResponse;
import io.tianshu.jobs.v1.RequestCounts;
import io.tianshu.jobs.v1.ResultKind;
import io.tianshu.jobs.v1.TokenUsage;
import io.tianshu.jobs.v1.UsageRecord;
import io.tianshu.jobs.v1.WebhookDelivery;
import io.tianshu.jobs.v1.WebhookStatus;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicReference;

/**
 * JobsService keeping batches in memory per tenant, as the real one scopes them: another
 * tenant's batch is NOT_FOUND. Tests finish batches by hand ({@link #finish}), which writes
 * typed results (the gateway writes the JSONL) and usage records to the ledger. Result pages hold at most
 * {@link #RESULT_PAGE_CAP} lines, so a download always spans several pages.
 */
class FakeJobsService extends JobsServiceGrpc.JobsServiceImplBase {

    static final int RESULT_PAGE_CAP = 2;

    final AtomicReference<CreateBatchRequest> lastCreate = new AtomicReference<>();
    final AtomicInteger creates = new AtomicInteger();
    final AtomicInteger resultPages = new AtomicInteger();
    /** When set, ListUsage fails with it. */
    volatile Status usageFailure;
    /** When set, ListUsage counts it down on entry and waits for {@link #releaseUsage} before answering. */
    volatile CountDownLatch usageEntered;
    volatile CountDownLatch releaseUsage;

    private final List<String> order = new CopyOnWriteArrayList<>();
    private final Map<String, Batch> batches = new ConcurrentHashMap<>();
    private final Map<String, String> idempotent = new ConcurrentHashMap<>();
    private final Map<String, List<BatchItemResult>> outputs = new ConcurrentHashMap<>();
    private final Map<String, List<BatchItemResult>> errors = new ConcurrentHashMap<>();
    private final List<UsageRecord> ledger = new CopyOnWriteArrayList<>();
    private final AtomicLong sequence = new AtomicLong();
    private final AtomicLong clock = new AtomicLong(1_700_000_000);

    @Override
    public synchronized void createBatch(CreateBatchRequest request, StreamObserver<CreateBatchResponse> out) {
        lastCreate.set(request);
        if (request.getTenantId().isEmpty() || request.getLinesCount() == 0) {
            out.onError(Status.INVALID_ARGUMENT.withDescription("tenant_id and lines are required").asRuntimeException());
            return;
        }
        String key = request.getTenantId() + "/" + request.getIdempotencyKey();
        if (!request.getIdempotencyKey().isEmpty() && idempotent.containsKey(key)) {
            reply(out, CreateBatchResponse.newBuilder().setBatch(batches.get(idempotent.get(key))).build());
            return;
        }
        creates.incrementAndGet();
        String id = "batch_" + UUID.randomUUID().toString().replace("-", "");
        Timestamp now = now();
        Batch.Builder batch = Batch.newBuilder().setBatchId(id).setTenantId(request.getTenantId())
                .setEndpoint(request.getEndpoint()).setStatus(BatchStatus.BATCH_STATUS_IN_PROGRESS)
                .setRequestCounts(RequestCounts.newBuilder().setTotal(request.getLinesCount()))
                .setUsage(TokenUsage.getDefaultInstance()).putAllMetadata(request.getMetadataMap())
                .setCompletionWindow(request.getCompletionWindow().isEmpty() ? "24h" : request.getCompletionWindow())
                .setCreatedAt(now).setInProgressAt(now)
                .setExpiresAt(Timestamp.newBuilder().setSeconds(now.getSeconds() + 86_400))
                .setIdempotencyKey(request.getIdempotencyKey());
        if (!request.getWebhookUrl().isEmpty()) {
            batch.setWebhook(WebhookDelivery.newBuilder().setUrl(request.getWebhookUrl())
                    .setStatus(WebhookStatus.WEBHOOK_STATUS_PENDING));
        }
        batches.put(id, batch.build());
        order.add(0, id);
        if (!request.getIdempotencyKey().isEmpty()) {
            idempotent.put(key, id);
        }
        reply(out, CreateBatchResponse.newBuilder().setBatch(batches.get(id)).build());
    }

    @Override
    public void getBatch(GetBatchRequest request, StreamObserver<GetBatchResponse> out) {
        Batch batch = owned(request.getTenantId(), request.getBatchId(), out);
        if (batch != null) {
            reply(out, GetBatchResponse.newBuilder().setBatch(batch).build());
        }
    }

    @Override
    public void listBatches(ListBatchesRequest request, StreamObserver<ListBatchesResponse> out) {
        List<Batch> mine = order.stream().map(batches::get).filter(b -> b.getTenantId().equals(request.getTenantId()))
                .toList();
        int start = 0;
        if (!request.getPageToken().isEmpty()) {
            start = mine.size();
            for (int i = 0; i < mine.size(); i++) {
                if (mine.get(i).getBatchId().equals(request.getPageToken())) {
                    start = i + 1;
                }
            }
        }
        int size = request.getPageSize() == 0 ? 20 : request.getPageSize();
        List<Batch> page = mine.subList(start, Math.min(mine.size(), start + size));
        boolean more = start + size < mine.size();
        reply(out, ListBatchesResponse.newBuilder().addAllBatches(page)
                .setNextPageToken(more ? page.get(page.size() - 1).getBatchId() : "").build());
    }

    @Override
    public synchronized void cancelBatch(CancelBatchRequest request, StreamObserver<CancelBatchResponse> out) {
        Batch batch = owned(request.getTenantId(), request.getBatchId(), out);
        if (batch == null) {
            return;
        }
        Batch cancelling = batch.toBuilder().setStatus(BatchStatus.BATCH_STATUS_CANCELLING).setCancellingAt(now())
                .build();
        batches.put(batch.getBatchId(), cancelling);
        reply(out, CancelBatchResponse.newBuilder().setBatch(cancelling).build());
    }

    @Override
    public void getBatchResults(GetBatchResultsRequest request, StreamObserver<GetBatchResultsResponse> out) {
        if (owned(request.getTenantId(), request.getBatchId(), out) == null) {
            return;
        }
        resultPages.incrementAndGet();
        List<BatchItemResult> all = (request.getKind() == ResultKind.RESULT_KIND_OUTPUT ? outputs : errors)
                .getOrDefault(request.getBatchId(), List.of());
        int start = request.getPageToken().isEmpty() ? 0 : Integer.parseInt(request.getPageToken());
        int size = Math.min(RESULT_PAGE_CAP, request.getPageSize() == 0 ? 1000 : request.getPageSize());
        int end = Math.min(all.size(), start + size);
        reply(out, GetBatchResultsResponse.newBuilder().addAllResults(all.subList(start, end))
                .setNextPageToken(end < all.size() ? Integer.toString(end) : "").build());
    }

    @Override
    public void listUsage(ListUsageRequest request, StreamObserver<ListUsageResponse> out) {
        Status failure = usageFailure;
        if (failure != null) {
            out.onError(failure.asRuntimeException());
            return;
        }
        CountDownLatch entered = usageEntered;
        if (entered != null) {
            entered.countDown();
            try {
                releaseUsage.await(1, TimeUnit.MINUTES);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }
        int size = request.getPageSize() == 0 ? 500 : request.getPageSize();
        reply(out, ListUsageResponse.newBuilder().addAllRecords(ledger.stream()
                .filter(r -> r.getSequence() > request.getAfterSequence()).limit(size).toList()).build());
    }

    /**
     * Ends a batch as the worker would: succeeded lines into the output, failed ones into the
     * errors, each line's tokens (prompt 10, completion 5) onto the batch and into the ledger.
     */
    synchronized Batch finish(String batchId, List<String> succeeded, List<String> failed) {
        Batch batch = batches.get(batchId);
        List<BatchItemResult> out = new ArrayList<>();
        List<BatchItemResult> err = new ArrayList<>();
        int index = 0;
        for (String id : succeeded) {
            out.add(BatchItemResult.newBuilder().setBatchId(batchId).setCustomId(id).setLineIndex(index++)
                    .setOutcome(ItemOutcome.ITEM_OUTCOME_SUCCEEDED).setStatusCode(200).setFinishedAt(now())
                    .setGeneration(GenerateResponse.newBuilder().setModel("tiny-chat")
                            .addChoices(Choice.newBuilder().setText("hi " + id)
                                    .setFinishReason(FinishReason.FINISH_REASON_STOP))
                            .setUsage(Usage.newBuilder().setPromptTokens(10).setCompletionTokens(5)
                                    .setTotalTokens(15)))
                    .build());
            addUsage(batch.getTenantId(), batchId, id, 10, 5);
        }
        for (String id : failed) {
            err.add(BatchItemResult.newBuilder().setBatchId(batchId).setCustomId(id).setLineIndex(index++)
                    .setOutcome(ItemOutcome.ITEM_OUTCOME_FAILED).setStatusCode(404).setErrorCode("model_not_found")
                    .setErrorMessage("no such model").setFinishedAt(now()).build());
        }
        outputs.put(batchId, out);
        errors.put(batchId, err);
        Timestamp now = now();
        Batch done = batch.toBuilder().setStatus(BatchStatus.BATCH_STATUS_COMPLETED).setFinalizingAt(now)
                .setCompletedAt(now)
                .setRequestCounts(batch.getRequestCounts().toBuilder().setCompleted(succeeded.size())
                        .setFailed(failed.size()))
                .setUsage(TokenUsage.newBuilder().setPromptTokens(10L * succeeded.size())
                        .setCompletionTokens(5L * succeeded.size()).setTotalTokens(15L * succeeded.size()))
                .build();
        batches.put(batchId, done);
        return done;
    }

    void addUsage(String tenant, String batchId, String customId, long prompt, long completion) {
        ledger.add(UsageRecord.newBuilder().setSequence(sequence.incrementAndGet()).setTenantId(tenant)
                .setBatchId(batchId).setCustomId(customId).setModel("tiny-chat")
                .setUsage(TokenUsage.newBuilder().setPromptTokens(prompt).setCompletionTokens(completion)
                        .setTotalTokens(prompt + completion)).build());
    }

    /** Empties the ledger; its next records follow the gateway's cursor, which outlives contexts. */
    void resetLedger(long after) {
        ledger.clear();
        sequence.set(after);
    }

    long lastSequence() {
        return sequence.get();
    }

    private Batch owned(String tenant, String batchId, StreamObserver<?> out) {
        Batch batch = batches.get(batchId);
        if (batch == null || !batch.getTenantId().equals(tenant)) {
            out.onError(Status.NOT_FOUND.withDescription("batch '" + batchId + "' not found").asRuntimeException());
            return null;
        }
        return batch;
    }

    /** Strictly increasing, so newest-first order is unambiguous. */
    private Timestamp now() {
        return Timestamp.newBuilder().setSeconds(clock.incrementAndGet()).build();
    }

    private static <T> void reply(StreamObserver<T> out, T message) {
        out.onNext(message);
        out.onCompleted();
    }
}
