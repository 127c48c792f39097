package io.tianshu.gateway.backend;

import io.github.resilience4j.bulkhead.BulkheadConfig;
import io.github.resilience4j.bulkhead.BulkheadFullException;
import io.github.resilience4j.circuitbreaker.CallNotPermittedException;
import io.github.resilience4j.circuitbreaker.CircuitBreakerConfig;
import io.grpc.Status;
import io.tianshu.gateway.config.TianshuProperties;
import java.time.Duration;
import java.util.Set;

/**
 * The resilience policy in one place: which failures count against an instance, which
 * may move on to the next instance, and the resilience4j configurations built from
 * {@code tianshu.inference.breaker} and {@code .bulkhead}.
 */
public final class Resilience {

    // What a broken or overwhelmed instance answers. The rest (INVALID_ARGUMENT, NOT_FOUND,
    // RESOURCE_EXHAUSTED from the engine's own queue bound, ...) is a working instance's answer.
    private static final Set<Status.Code> FAULTS = Set.of(Status.Code.UNAVAILABLE, Status.Code.DEADLINE_EXCEEDED,
            Status.Code.INTERNAL, Status.Code.UNKNOWN, Status.Code.DATA_LOSS);

    private Resilience() {
    }

    public static CircuitBreakerConfig breaker(TianshuProperties.Breaker settings) {
        return CircuitBreakerConfig.custom()
                .slidingWindowType(CircuitBreakerConfig.SlidingWindowType.COUNT_BASED)
                .slidingWindowSize(settings.window())
                .minimumNumberOfCalls(settings.minimumCalls())
                .failureRateThreshold(settings.failureRate())
                .slowCallRateThreshold(settings.slowCallRate())
                .slowCallDurationThreshold(settings.slowCall())
                .waitDurationInOpenState(settings.openFor())
                .permittedNumberOfCallsInHalfOpenState(settings.halfOpenCalls())
                // Routing skips open breakers without asking them, so nothing would ever move
                // one to half-open; resilience4j's own timer does it when openFor has passed.
                .automaticTransitionFromOpenToHalfOpenEnabled(true)
                .recordException(Resilience::isFault)
                // A caller that hung up says nothing about the instance either way.
                .ignoreException(t -> code(t) == Status.Code.CANCELLED)
                .build();
    }

    static BulkheadConfig bulkhead(TianshuProperties.Bulkhead settings) {
        // No waiting: a semaphore wait would block an event-loop thread. A full instance is
        // skipped, and when all are full the caller gets 429 at once.
        return BulkheadConfig.custom()
                .maxConcurrentCalls(settings.maxConcurrentCalls())
                .maxWaitDuration(Duration.ZERO)
                .build();
    }

    static boolean isFault(Throwable t) {
        return FAULTS.contains(code(t));
    }

    /** The instance refused the call itself (breaker open, bulkhead full): nothing reached it. */
    static boolean isRefusal(Throwable t) {
        return t instanceof CallNotPermittedException || t instanceof BulkheadFullException;
    }

    /**
     * UNAVAILABLE is the one failure worth another instance: the call did not reach an engine
     * (connection refused, instance shutting down), so nothing ran twice. A DEADLINE_EXCEEDED
     * or INTERNAL may have generated already, and another instance would repeat the cost.
     */
    static boolean isWorthAnotherInstance(Throwable t) {
        return code(t) == Status.Code.UNAVAILABLE;
    }

    private static Status.Code code(Throwable t) {
        return Status.fromThrowable(t).getCode();
    }
}
