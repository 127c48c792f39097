package io.tianshu.gateway.backend;

import io.github.resilience4j.bulkhead.Bulkhead;
import io.github.resilience4j.bulkhead.BulkheadFullException;
import io.github.resilience4j.circuitbreaker.CircuitBreaker;
import io.grpc.ManagedChannel;
import io.tianshu.inference.v1.GetLoadResponse;
import io.tianshu.inference.v1.InferenceServiceGrpc;
import io.tianshu.inference.v1.InferenceServiceGrpc.InferenceServiceStub;
import java.time.Duration;
import java.time.Instant;
import java.util.function.Function;
import reactor.core.publisher.Flux;

/**
 * One inference instance: its channel, its circuit breaker and bulkhead, and what its last
 * GetLoad said.
 */
final class InferenceInstance {

    /** The last poll's answer; the counts are zero unless health is SERVING. */
    record Load(InstancePicker.Health health, int running, int waiting, int maxWaiting, float kvCacheUsage,
            String error) {

        static final Load UNKNOWN = new Load(InstancePicker.Health.UNKNOWN, 0, 0, 0, 0, null);

        static Load of(GetLoadResponse response) {
            return response.getServing()
                    ? new Load(InstancePicker.Health.SERVING, response.getRunningRequests(),
                            response.getWaitingRequests(), response.getMaxWaitingRequests(), response.getKvCacheUsage(),
                            null)
                    : new Load(InstancePicker.Health.DOWN, 0, 0, response.getMaxWaitingRequests(), 0, "not serving");
        }

        static Load unreachable(Throwable failure) {
            return new Load(InstancePicker.Health.DOWN, 0, 0, 0, 0, failure.toString());
        }
    }

    private final String target;
    private final ManagedChannel channel;
    private final InferenceServiceStub stub;
    private final Breaker breaker;
    private final Bulkhead bulkhead;
    private volatile Load load = Load.UNKNOWN;

    InferenceInstance(String target, ManagedChannel channel, Breaker breaker, Bulkhead bulkhead) {
        this.target = target;
        this.channel = channel;
        this.stub = InferenceServiceGrpc.newStub(channel);
        this.breaker = breaker;
        this.bulkhead = bulkhead;
    }

    String target() {
        return target;
    }

    ManagedChannel channel() {
        return channel;
    }

    InferenceServiceStub stub() {
        return stub;
    }

    CircuitBreaker breaker() {
        return breaker.circuitBreaker();
    }

    Load load() {
        return load;
    }

    void polled(Load latest) {
        load = latest;
    }

    InstancePicker.Candidate candidate() {
        Load current = load;
        return new InstancePicker.Candidate(refusal() == null, current.health(),
                current.running() + current.waiting(), current.kvCacheUsage());
    }

    /** Why this instance would refuse a call now, or null when it would take one. */
    RuntimeException refusal() {
        RuntimeException open = breaker.refusal();
        if (open != null) {
            return open;
        }
        if (bulkhead.getMetrics().getAvailableConcurrentCalls() == 0) {
            return busy();
        }
        return null;
    }

    RuntimeException busy() {
        return BulkheadFullException.createBulkheadFullException(bulkhead);
    }

    /** How long until an open breaker lets probes through; zero when it is not open. */
    Duration reopensIn(Instant now) {
        return breaker.reopensIn(now);
    }

    /** Runs a call through the bulkhead, then the breaker ({@link Breaker#guard}). */
    <T> Flux<T> guard(Function<InferenceServiceStub, Flux<T>> call) {
        return Flux.defer(() -> {
            if (!bulkhead.tryAcquirePermission()) {
                return Flux.error(busy());
            }
            return breaker.guard(() -> call.apply(stub)).doFinally(signal -> bulkhead.onComplete());
        });
    }
}
