package io.tianshu.gateway.calltrace;

import java.util.Locale;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.stream.Collectors;
import org.springframework.http.HttpHeaders;
import reactor.core.publisher.Mono;

/**
 * Where one HTTP request spent its time: which instance and model answered it, how long that
 * backend call took to its first message, and the gateway's own steps before it
 * (authentication, counting the prompt, admission). One per HTTP request, in the Reactor
 * context; {@link CallTraceFilter} turns it into response headers, the steps into a standard
 * {@code Server-Timing} header that browsers' developer tools and HTTP clients can show.
 */
public final class CallTrace {

    public static final String INSTANCE_HEADER = "X-Tianshu-Instance";
    public static final String MODEL_HEADER = "X-Tianshu-Model";
    public static final String GATEWAY_MS_HEADER = "X-Tianshu-Gateway-Ms";
    static final String SERVER_TIMING_HEADER = "Server-Timing";

    private final long receivedAt;
    private final Map<String, Long> stepNanos = new ConcurrentHashMap<>();
    private volatile String instance;
    private volatile String model;
    private volatile long backendStartedAt;
    private volatile long backendNanos;

    CallTrace(long receivedAt) {
        this.receivedAt = receivedAt;
    }

    /**
     * Times {@code step} as one named step of the request it runs for (its time is added to
     * the step's total if it runs more than once); outside a request it is {@code step} as is.
     */
    public static <T> Mono<T> timed(String name, Mono<T> step) {
        return Mono.deferContextual(context -> {
            CallTrace trace = context.getOrDefault(CallTrace.class, null);
            if (trace == null) {
                return step;
            }
            long start = System.nanoTime();
            AtomicBoolean ended = new AtomicBoolean();
            Runnable end = () -> {
                if (ended.compareAndSet(false, true)) {
                    trace.stepNanos.merge(name, System.nanoTime() - start, Long::sum);
                }
            };
            // Stopped as the step's result arrives, before it is handed on: doFinally would
            // also count whatever the rest of the request does on the same thread.
            return step.doOnSuccess(result -> end.run()).doOnError(error -> end.run()).doOnCancel(end);
        });
    }

    /**
     * The serving call to {@code instance}, started at {@code startedAt}, answered first at
     * {@code answeredAt}; {@code model} is empty for a backend that serves no model (RAG).
     */
    public void served(String instance, String model, long startedAt, long answeredAt) {
        this.instance = instance;
        this.model = model;
        this.backendStartedAt = startedAt;
        this.backendNanos = answeredAt - startedAt;
    }

    /**
     * The gateway's share of the time to the first byte: from receiving the request to
     * committing the response, less the serving call's time to its first message. For a JSON
     * answer that is all the gateway added; for a stream, what it added before the first token.
     * It is split in two: {@code request}, from receiving the request to starting the serving
     * call (the named steps run in it), and {@code response}, from the call's first message to
     * the response headers.
     */
    void writeTo(HttpHeaders headers, long committedAt) {
        if (instance == null) {
            if (!stepNanos.isEmpty()) {
                headers.set(SERVER_TIMING_HEADER, steps());
            }
            return;
        }
        headers.set(INSTANCE_HEADER, instance);
        if (!model.isEmpty()) {
            headers.set(MODEL_HEADER, model);
        }
        long gatewayNanos = Math.max(0, committedAt - receivedAt - backendNanos);
        headers.set(GATEWAY_MS_HEADER, Long.toString(TimeUnit.NANOSECONDS.toMillis(gatewayNanos)));
        long requestNanos = Math.max(0, backendStartedAt - receivedAt);
        String backend = "backend;dur=" + millis(backendNanos) + ", gateway;dur=" + millis(gatewayNanos)
                + ", request;dur=" + millis(requestNanos)
                + ", response;dur=" + millis(Math.max(0, gatewayNanos - requestNanos));
        headers.set(SERVER_TIMING_HEADER, stepNanos.isEmpty() ? backend : steps() + ", " + backend);
    }

    private String steps() {
        return stepNanos.entrySet().stream()
                .sorted(Map.Entry.comparingByKey())
                .map(e -> e.getKey() + ";dur=" + millis(e.getValue()))
                .collect(Collectors.joining(", "));
    }

    private static String millis(long nanos) {
        return String.format(Locale.ROOT, "%.2f", nanos / 1e6);
    }
}
