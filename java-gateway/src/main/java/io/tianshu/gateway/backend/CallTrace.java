package io.tianshu.gateway.backend;

import java.util.concurrent.TimeUnit;
import org.springframework.http.HttpHeaders;

/**
 * Which instance and model answered a request, and how long that backend call took to its
 * first message. One per HTTP request, in the Reactor context; {@link CallTraceFilter} turns
 * it into response headers.
 */
final class CallTrace {

    static final String INSTANCE_HEADER = "X-Tianshu-Instance";
    static final String MODEL_HEADER = "X-Tianshu-Model";
    static final String GATEWAY_MS_HEADER = "X-Tianshu-Gateway-Ms";

    private final long receivedAt;
    private volatile String instance;
    private volatile String model;
    private volatile long backendNanos;

    CallTrace(long receivedAt) {
        this.receivedAt = receivedAt;
    }

    void served(String instance, String model, long backendNanos) {
        this.instance = instance;
        this.model = model;
        this.backendNanos = backendNanos;
    }

    /**
     * The gateway's share of the time to the first byte: from receiving the request to
     * committing the response, less the serving call's time to its first message. For a JSON
     * answer that is all the gateway added; for a stream, what it added before the first token.
     */
    void writeTo(HttpHeaders headers, long committedAt) {
        if (instance == null) {
            return;
        }
        headers.set(INSTANCE_HEADER, instance);
        headers.set(MODEL_HEADER, model);
        long gatewayNanos = Math.max(0, committedAt - receivedAt - backendNanos);
        headers.set(GATEWAY_MS_HEADER, Long.toString(TimeUnit.NANOSECONDS.toMillis(gatewayNanos)));
    }
}
