package io.tianshu.gateway.batches;

import io.github.resilience4j.circuitbreaker.CircuitBreakerRegistry;
import io.grpc.stub.StreamObserver;
import io.tianshu.gateway.backend.Backend;
import io.tianshu.gateway.backend.BackendCalls;
import io.tianshu.gateway.config.TianshuProperties;
import io.tianshu.gateway.error.ApiException;
import io.tianshu.jobs.v1.Batch;
import io.tianshu.jobs.v1.CancelBatchRequest;
import io.tianshu.jobs.v1.CancelBatchResponse;
import io.tianshu.jobs.v1.CreateBatchRequest;
import io.tianshu.jobs.v1.CreateBatchResponse;
import io.tianshu.jobs.v1.GetBatchRequest;
import io.tianshu.jobs.v1.GetBatchResponse;
import io.tianshu.jobs.v1.GetBatchResultsRequest;
import io.tianshu.jobs.v1.GetBatchResultsResponse;
import io.tianshu.jobs.v1.JobsServiceGrpc;
import io.tianshu.jobs.v1.JobsServiceGrpc.JobsServiceStub;
import io.tianshu.jobs.v1.ListBatchesRequest;
import io.tianshu.jobs.v1.ListBatchesResponse;
import io.tianshu.jobs.v1.ListUsageRequest;
import io.tianshu.jobs.v1.ListUsageResponse;
import io.tianshu.jobs.v1.UsageRecord;
import java.time.Duration;
import java.util.List;
import java.util.function.BiConsumer;
import org.springframework.beans.factory.annotation.Autowired;
import org.springframework.stereotype.Component;
import reactor.core.publisher.Mono;

/**
 * The gateway's only door to the batch service. Every call goes through {@link BackendCalls}:
 * its deadline, the request id and the trace context, and one circuit breaker ("batch"), so an
 * outage answers 503 at once instead of every caller waiting for its own deadline. The tenant
 * is always the caller's, set by the routes from the authenticated key. Without a configured
 * target every call is 503 batch_unavailable.
 */
@Component
class JobsClient {

    private final Backend<JobsServiceStub> jobs; // null when no batch service is configured
    private final TianshuProperties.Batch settings;

    /** Untraced: for tests that build the client outside Spring. */
    JobsClient(JobsChannel channel, TianshuProperties properties, CircuitBreakerRegistry breakers) {
        this(channel, properties, BackendCalls.untraced(breakers));
    }

    @Autowired
    JobsClient(JobsChannel channel, TianshuProperties properties, BackendCalls calls) {
        this.settings = properties.batch();
        this.jobs = channel.configured()
                ? calls.backend("batch", JobsServiceGrpc.newStub(channel.channel()), settings.breaker()) : null;
    }

    /** Completes when a batch service is configured; 503 batch_unavailable otherwise. */
    Mono<Void> available() {
        return jobs == null ? Mono.error(ApiException.batchUnavailable()) : Mono.empty();
    }

    Mono<Batch> create(CreateBatchRequest request, String requestId) {
        return this.<CreateBatchResponse>call(requestId, settings.createDeadline(),
                (s, o) -> s.createBatch(request, o)).map(CreateBatchResponse::getBatch);
    }

    Mono<Batch> get(String tenant, String batchId, String requestId) {
        GetBatchRequest request = GetBatchRequest.newBuilder().setTenantId(tenant).setBatchId(batchId).build();
        return this.<GetBatchResponse>call(requestId, settings.deadline(), (s, o) -> s.getBatch(request, o))
                .map(GetBatchResponse::getBatch);
    }

    Mono<ListBatchesResponse> list(ListBatchesRequest request, String requestId) {
        return call(requestId, settings.deadline(), (s, o) -> s.listBatches(request, o));
    }

    Mono<Batch> cancel(String tenant, String batchId, String requestId) {
        CancelBatchRequest request = CancelBatchRequest.newBuilder().setTenantId(tenant).setBatchId(batchId).build();
        return this.<CancelBatchResponse>call(requestId, settings.deadline(), (s, o) -> s.cancelBatch(request, o))
                .map(CancelBatchResponse::getBatch);
    }

    Mono<GetBatchResultsResponse> results(GetBatchResultsRequest request, String requestId) {
        return call(requestId, settings.deadline(), (s, o) -> s.getBatchResults(request, o));
    }

    /**
     * The usage ledger after a sequence, for the charger; not scoped to a tenant. Outside the
     * breaker: a background reader retrying on its own schedule must not open the breaker
     * that answers callers (nor be refused by it while the callers' calls fail).
     */
    Mono<List<UsageRecord>> usage(long afterSequence, int pageSize) {
        ListUsageRequest request = ListUsageRequest.newBuilder().setAfterSequence(afterSequence)
                .setPageSize(pageSize).build();
        return available().then(Mono.defer(() -> jobs.<ListUsageResponse>unaryAroundBreaker("batch-usage-charger",
                settings.deadline(), (s, o) -> s.listUsage(request, o)))).map(ListUsageResponse::getRecordsList);
    }

    private <T> Mono<T> call(String requestId, Duration deadline, BiConsumer<JobsServiceStub, StreamObserver<T>> rpc) {
        return available().then(Mono.defer(() -> jobs.unary(requestId, deadline, rpc)));
    }
}
