package io.tianshu.gateway.backend;

import io.github.resilience4j.circuitbreaker.CircuitBreakerRegistry;
import io.grpc.ClientInterceptor;
import io.grpc.Metadata;
import io.grpc.stub.AbstractStub;
import io.grpc.stub.MetadataUtils;
import io.micrometer.core.instrument.binder.grpc.ObservationGrpcClientInterceptor;
import io.micrometer.observation.ObservationRegistry;
import io.tianshu.gateway.config.TianshuProperties;
import io.tianshu.gateway.requestid.RequestId;
import java.time.Duration;
import java.util.concurrent.TimeUnit;
import org.springframework.beans.factory.annotation.Autowired;
import org.springframework.stereotype.Component;

/**
 * The one way the gateway calls any backend. Each call's stub is built here, per call (per
 * attempt, for inference failover) so that its deadline counts from when it starts, and
 * carries the request id and the W3C trace context ({@code traceparent} of a client span of
 * the HTTP request's trace) as metadata. Each backend's calls pass its own circuit breaker:
 * an inference instance's through {@link Failover}, the RAG and batch services' through
 * {@link #backend}.
 */
@Component
public class BackendCalls {

    private static final Metadata.Key<String> REQUEST_ID =
            Metadata.Key.of(RequestId.METADATA_KEY, Metadata.ASCII_STRING_MARSHALLER);

    private final ClientInterceptor tracing;
    private final CircuitBreakerRegistry breakers;

    @Autowired
    BackendCalls(ObservationRegistry observations, CircuitBreakerRegistry breakers) {
        // Micrometer's own: one observation (client span and grpc.client timer) per call, whose
        // trace context the tracing bridge injects into the call's metadata.
        this.tracing = new ObservationGrpcClientInterceptor(observations);
        this.breakers = breakers;
    }

    /** Without observations (no spans, no traceparent): for tests that build clients outside Spring. */
    public static BackendCalls untraced(CircuitBreakerRegistry breakers) {
        return new BackendCalls(ObservationRegistry.NOOP, breakers);
    }

    /**
     * A single-address backend (its replicas behind one target), its calls guarded by one
     * breaker of its own.
     *
     * @param service names the backend in refusals ("The RAG service is failing; ...") and
     *     its breaker in the registry and metrics (lower case)
     */
    public <S extends AbstractStub<S>> Backend<S> backend(String service, S stub, TianshuProperties.Breaker settings) {
        return new Backend<>(service, stub, Breaker.named(breakers, service.toLowerCase(), settings), this);
    }

    /** @param requestId the id to send; empty sends none (background calls) */
    <S extends AbstractStub<S>> S forCall(S stub, String requestId, Duration deadline) {
        S traced = stub.withDeadlineAfter(deadline.toNanos(), TimeUnit.NANOSECONDS).withInterceptors(tracing);
        if (requestId.isEmpty()) {
            return traced;
        }
        Metadata headers = new Metadata();
        headers.put(REQUEST_ID, requestId);
        return traced.withInterceptors(MetadataUtils.newAttachHeadersInterceptor(headers));
    }
}
