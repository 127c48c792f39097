package io.tianshu.gateway.backend;

import io.github.resilience4j.circuitbreaker.CallNotPermittedException;
import io.github.resilience4j.circuitbreaker.CircuitBreaker;
import io.github.resilience4j.circuitbreaker.CircuitBreakerRegistry;
import io.tianshu.gateway.config.TianshuProperties;
import java.time.Duration;
import java.time.Instant;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.function.Supplier;
import reactor.core.publisher.Flux;

/**
 * The circuit breaker of one backend (an inference instance, the RAG service, the batch
 * service), the one way every call passes a breaker. Created in resilience4j's Spring
 * registry under the backend's name, which publishes its state to Prometheus
 * (resilience4j_circuitbreaker_state{name=...}), with the policy of {@link Resilience}.
 */
final class Breaker {

    private final CircuitBreaker breaker;
    private volatile Instant openUntil = Instant.MIN;

    private Breaker(CircuitBreaker breaker, Duration openFor) {
        this.breaker = breaker;
        breaker.getEventPublisher().onStateTransition(event -> {
            if (event.getStateTransition().getToState() == CircuitBreaker.State.OPEN) {
                openUntil = Instant.now().plus(openFor);
            }
        });
    }

    /** @param name the backend's, as the breaker's metrics are tagged ("rag", "batch", an instance's target) */
    static Breaker named(CircuitBreakerRegistry registry, String name, TianshuProperties.Breaker settings) {
        return new Breaker(registry.circuitBreaker(name, Resilience.breaker(settings)), settings.openFor());
    }

    CircuitBreaker circuitBreaker() {
        return breaker;
    }

    /** The refusal an open breaker answers, or null when it would let a call through. */
    RuntimeException refusal() {
        CircuitBreaker.State state = breaker.getState();
        return state == CircuitBreaker.State.OPEN || state == CircuitBreaker.State.FORCED_OPEN
                ? CallNotPermittedException.createCallNotPermittedException(breaker) : null;
    }

    /** How long until an open breaker lets probes through; zero when it is not open. */
    Duration reopensIn(Instant now) {
        Duration left = Duration.between(now, openUntil);
        return left.isNegative() ? Duration.ZERO : left;
    }

    /**
     * Runs a call through the breaker, or refuses it with CallNotPermittedException without
     * starting it. The breaker hears one outcome per call: success at the first message (for
     * a unary call that is the answer; for a stream, the time to its first message is what
     * "slow" means, since a long answer is not a slow backend), or the failure that came
     * before it. A cancelled call records nothing.
     */
    <T> Flux<T> guard(Supplier<Flux<T>> call) {
        return Flux.defer(() -> {
            if (!breaker.tryAcquirePermission()) {
                return Flux.error(CallNotPermittedException.createCallNotPermittedException(breaker));
            }
            Outcome outcome = new Outcome(breaker, System.nanoTime());
            return call.get()
                    .doOnNext(message -> outcome.answered())
                    .doOnComplete(outcome::answered)
                    .doOnError(outcome::failed)
                    .doFinally(signal -> outcome.abandoned());
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
