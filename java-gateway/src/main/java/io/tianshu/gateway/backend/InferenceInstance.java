package io.tianshu.gateway.backend;

import io.github.resilience4j.bulkhead.Bulkhead;
import io.github.resilience4j.bulkhead.BulkheadFullException;
import io.github.resilience4j.circuitbreaker.CallNotPermittedException;
import io.github.resilience4j.circuitbreaker.CircuitBreaker;
import io.grpc.ManagedChannel;
import io.tianshu.inference.v1.GetLoadResponse;
import io.tianshu.inference.v1.InferenceServiceGrpc;
import io.tianshu.inference.v1.InferenceServiceGrpc.InferenceServiceStub;
import java.time.Duration;
import java.time.Instant;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
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
    private final CircuitBreaker breaker;
    private final Bulkhead bulkhead;
    private volatile Load load = Load.UNKNOWN;
    private volatile Instant openUntil = Instant.MIN;

    /** @param openFor how long the breaker stays open, for Retry-After */
    InferenceInstance(String target, ManagedChannel channel, CircuitBreaker breaker, Bulkhead bulkhead,
            Duration openFor) {
        this.target = target;
        this.channel = channel;
        this.stub = InferenceServiceGrpc.newStub(channel);
        this.breaker = breaker;
        this.bulkhead = bulkhead;
        breaker.getEventPublisher().onStateTransition(event -> {
            if (event.getStateTransition().getToState() == CircuitBreaker.State.OPEN) {
                openUntil = Instant.now().plus(openFor);
            }
        });
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
        return breaker;
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
        CircuitBreaker.State state = breaker.getState();
        if (state == CircuitBreaker.State.OPEN || state == CircuitBreaker.State.FORCED_OPEN) {
            return CallNotPermittedException.createCallNotPermittedException(breaker);
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
        Duration left = Duration.between(now, openUntil);
        return left.isNegative() ? Duration.ZERO : left;
    }

    /**
     * Runs a call through the bulkhead and the breaker. The breaker hears one outcome per
     * call: success at the first message (for a unary call that is the answer; for a stream,
     * the time to its first token is what "slow" means, since a long answer is not a slow
     * instance), or the failure that came before it. A cancelled call records nothing.
     */
    <T> Flux<T> guard(Function<InferenceServiceStub, Flux<T>> call) {
        return Flux.defer(() -> {
            if (!bulkhead.tryAcquirePermission()) {
                return Flux.error(busy());
            }
            if (!breaker.tryAcquirePermission()) {
                bulkhead.onComplete();
                return Flux.error(CallNotPermittedException.createCallNotPermittedException(breaker));
            }
            Outcome outcome = new Outcome(breaker, System.nanoTime());
            return call.apply(stub)
                    .doOnNext(message -> outcome.answered())
                    .doOnComplete(outcome::answered)
                    .doOnError(outcome::failed)
                    .doFinally(signal -> {
                        outcome.abandoned();
                        bulkhead.onComplete();
                    });
        });
    }

    private static final class Outcome {
        private final CircuitBreaker breaker;
        private final long start;
        private final AtomicBoolean recorded = new AtomicBoolean();

        Outcome(CircuitBreaker breaker, long start) {
            this.breaker = breaker;
            this.start = start;
        }

        void answered() {
            if (recorded.compareAndSet(false, true)) {
                breaker.onSuccess(System.nanoTime() - start, TimeUnit.NANOSECONDS);
            }
        }

        void failed(Throwable failure) {
            if (recorded.compareAndSet(false, true)) {
                breaker.onError(System.nanoTime() - start, TimeUnit.NANOSECONDS, failure);
            }
        }

        void abandoned() {
            if (recorded.compareAndSet(false, true)) {
                breaker.releasePermission();
            }
        }
    }
}
