package io.tianshu.gateway.backend;

import java.time.Duration;

/**
 * The gateway refused to call a backend: its breaker is open (every inference instance's,
 * or the RAG or batch service's), or every inference instance with room was refused by its
 * bulkhead. Nothing was sent. The cause is resilience4j's CallNotPermittedException or
 * BulkheadFullException, which the error table maps to HTTP.
 */
public final class CallRefusedException extends RuntimeException {

    /** The backend of several instances, whose refusal speaks of all of them. */
    public static final String INFERENCE = "inference";

    private final String service;
    private final Duration retryAfter;

    /** @param service the backend refused: {@link #INFERENCE}, "RAG", "batch" */
    CallRefusedException(String service, RuntimeException refusal, Duration retryAfter) {
        // No stack trace: with a breaker open this is raised per request, by design.
        super(refusal.getMessage(), refusal, false, false);
        this.service = service;
        this.retryAfter = retryAfter;
    }

    public String service() {
        return service;
    }

    /** Whole seconds until a call may succeed, at least one, for the Retry-After header. */
    public long retryAfterSeconds() {
        long millis = retryAfter.toMillis();
        return Math.max(1, (millis + 999) / 1000);
    }
}
