package io.tianshu.gateway.backend;

import java.time.Duration;

/**
 * No inference instance would take the call: every breaker open, or every instance with
 * room refused by its bulkhead. Nothing was sent to a backend. The cause is resilience4j's
 * CallNotPermittedException or BulkheadFullException, which the error table maps to HTTP.
 */
public final class NoInstanceAvailableException extends RuntimeException {

    private final Duration retryAfter;

    NoInstanceAvailableException(RuntimeException refusal, Duration retryAfter) {
        // No stack trace: with breakers open this is raised per request, by design.
        super(refusal.getMessage(), refusal, false, false);
        this.retryAfter = retryAfter;
    }

    /** Whole seconds until a call may succeed, at least one, for the Retry-After header. */
    public long retryAfterSeconds() {
        long millis = retryAfter.toMillis();
        return Math.max(1, (millis + 999) / 1000);
    }
}
