package io.tianshu.gateway.batches;

import io.github.resilience4j.circuitbreaker.CallNotPermittedException;
import io.github.resilience4j.circuitbreaker.CircuitBreaker;
import io.github.resilience4j.circuitbreaker.CircuitBreakerRegistry;
import io.github.resilience4j.reactor.circuitbreaker.operator.CircuitBreakerOperator;
import io.grpc.stub.StreamObserver;
import io.tianshu.gateway.backend.CallStubs;
import io.tianshu.gateway.backend.GrpcReactive;
import io.tianshu.gateway.backend.Resilience;
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
import org.springframework.http.HttpHeaders;
import org.springframework.http.HttpStatus;
import org.springframework.stereotype.Component;
import reactor.core.publisher.Mono;

/**
 * The gateway's only door to the batch service. Every call gets its deadline and the request
 * id as metadata, and passes one circuit breaker ("batch"), so an outage answers 503 at once
 * instead of every caller waiting for its own deadline. The tenant is always the caller's, set
 * by the routes from the authenticated key. Without a configured target every call is 503
 * batch_unavailable.
 */
@Component
class JobsClient {

    private final JobsServiceStub stub;
    private final TianshuProperties.Batch settings;
    private final CircuitBreaker breaker;

    JobsClient(JobsChannel channel, TianshuProperties properties, CircuitBreakerRegistry breakers) {
        this.stub = channel.configured() ? JobsServiceGrpc.newStub(channel.channel()) : null;
        this.settings = properties.batch();
        this.breaker = breakers.circuitBreaker("batch", Resilience.breaker(settings.breaker()));
    }

    /** Completes when a batch service is configured; 503 batch_unavailable otherwise. */
    Mono<Void> available() {
        return stub == null ? Mono.error(ApiException.batchUnavailable()) : Mono.empty();
    }

    Mono<Batch> create(CreateBatchRequest request, String requestId) {
        return this.<CreateBatchResponse>unary(requestId, settings.createDeadline(),
                (s, o) -> s.createBatch(request, o)).map(CreateBatchResponse::getBatch);
    }

    Mono<Batch> get(String tenant, String batchId, String requestId) {
        GetBatchRequest request = GetBatchRequest.newBuilder().setTenantId(tenant).setBatchId(batchId).build();
        return this.<GetBatchResponse>unary(requestId, settings.deadline(), (s, o) -> s.getBatch(request, o))
                .map(GetBatchResponse::getBatch);
    }

    Mono<ListBatchesResponse> list(ListBatchesRequest request, String requestId) {
        return unary(requestId, settings.deadline(), (s, o) -> s.listBatches(request, o));
    }

    Mono<Batch> cancel(String tenant, String batchId, String requestId) {
        CancelBatchRequest request = CancelBatchRequest.newBuilder().setTenantId(tenant).setBatchId(batchId).build();
        return this.<CancelBatchResponse>unary(requestId, settings.deadline(), (s, o) -> s.cancelBatch(request, o))
                .map(CancelBatchResponse::getBatch);
    }

    Mono<GetBatchResultsResponse> results(GetBatchResultsRequest request, String requestId) {
        return unary(requestId, settings.deadline(), (s, o) -> s.getBatchResults(request, o));
    }

    /**
     * The usage ledger after a sequence, for the charger; not scoped to a tenant. Outside the
     * breaker: a background reader retrying on its own schedule must not open the breaker
     * that answers callers (nor be refused by it while the callers' calls fail).
     */
    Mono<List<UsageRecord>> usage(long afterSequence, int pageSize) {
        ListUsageRequest request = ListUsageRequest.newBuilder().setAfterSequence(afterSequence)
                .setPageSize(pageSize).build();
        if (stub == null) {
            return Mono.error(ApiException.batchUnavailable());
        }
        return GrpcReactive.<ListUsageResponse>unary(observer -> stub("batch-usage-charger", settings.deadline())
                .listUsage(request, observer)).map(ListUsageResponse::getRecordsList);
    }

    private <T> Mono<T> unary(String requestId, Duration deadline, BiConsumer<JobsServiceStub, StreamObserver<T>> rpc) {
        if (stub == null) {
            return Mono.error(ApiException.batchUnavailable());
        }
        return GrpcReactive.<T>unary(observer -> rpc.accept(stub(requestId, deadline), observer))
                .transformDeferred(CircuitBreakerOperator.of(breaker))
                .onErrorMap(CallNotPermittedException.class, open -> circuitOpen());
    }

    private JobsServiceStub stub(String requestId, Duration deadline) {
        return CallStubs.forCall(stub, requestId, deadline);
    }

    private ApiException circuitOpen() {
        HttpHeaders headers = new HttpHeaders();
        headers.set(HttpHeaders.RETRY_AFTER, Long.toString(Math.max(1, settings.breaker().openFor().toSeconds())));
        return new ApiException(HttpStatus.SERVICE_UNAVAILABLE, "service_unavailable_error",
                "The batch service is failing; the gateway stopped calling it for now, retry later.", null,
                "circuit_open", headers);
    }
}
