package io.tianshu.gateway.ratelimit;

import io.tianshu.gateway.auth.Caller;
import io.tianshu.inference.v1.GenerateStreamResponse;
import io.tianshu.inference.v1.Usage;
import java.util.List;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;
import java.util.function.Function;
import java.util.function.ToIntFunction;
import reactor.core.publisher.Flux;
import reactor.core.publisher.Mono;

/**
 * One admitted call: what it reserved, and the one settlement that replaces the reservation
 * with real usage when the call ends, however it ends.
 */
public final class Admission {

    private final Limiter limiter;
    private final Caller caller;
    private final String endpoint;
    private final String model;
    private final String requestId;
    private final Estimate estimate;
    private final List<BucketStore.Take> tokenTakes;
    private final AtomicBoolean settled = new AtomicBoolean();

    Admission(Limiter limiter, Caller caller, String endpoint, String model, String requestId, Estimate estimate,
            List<BucketStore.Take> tokenTakes) {
        this.limiter = limiter;
        this.caller = caller;
        this.endpoint = endpoint;
        this.model = model;
        this.requestId = requestId;
        this.estimate = estimate;
        this.tokenTakes = tokenTakes;
    }

    /** Settles a unary call with its reported usage; a call that failed costs nothing. */
    public <T> Mono<T> meter(Mono<T> call, Function<T, Usage> usageOf) {
        return call.doOnNext(result -> {
            Usage usage = usageOf.apply(result);
            settle(usage.getPromptTokens(), usage.getCompletionTokens());
        }).doFinally(signal -> settle(0, 0));
    }

    /**
     * Settles a generation stream: one token per token log-probability when there are some,
     * else one per non-empty text delta, which is what the engine sends per step.
     */
    public Flux<GenerateStreamResponse> meter(Flux<GenerateStreamResponse> stream) {
        return meter(stream, message -> message.hasUsage() ? message.getUsage() : null,
                message -> message.getLogprobsCount() > 0 ? message.getLogprobsCount()
                        : message.getText().isEmpty() ? 0 : 1);
    }

    /**
     * Settles a stream when it ends, completed, failed or cancelled. The usage a message
     * reports (the last one) is exact; without it (a client hung up, the backend failed) the
     * tokens delivered so far are counted message by message, plus the estimate's prompt
     * tokens once anything was delivered.
     *
     * @param reportedUsage the usage a message reports, or null
     * @param deliveredTokens the tokens one message delivered
     */
    public <T> Flux<T> meter(Flux<T> stream, Function<T, Usage> reportedUsage, ToIntFunction<T> deliveredTokens) {
        AtomicInteger generated = new AtomicInteger();
        AtomicReference<Usage> reported = new AtomicReference<>();
        return stream.doOnNext(message -> {
            Usage usage = reportedUsage.apply(message);
            if (usage != null) {
                reported.set(usage);
            }
            generated.addAndGet(deliveredTokens.applyAsInt(message));
        }).doFinally(signal -> {
            Usage usage = reported.get();
            if (usage != null) {
                settle(usage.getPromptTokens(), usage.getCompletionTokens());
            } else {
                settle(generated.get() > 0 ? estimate.promptTokens() : 0, generated.get());
            }
        });
    }

    /**
     * Settles a call whose cost is known only once it was accepted, under the model its answer
     * names: an upload, billed its embedding tokens under its collection's embedding model. What
     * exceeds the reservation is taken from the tokens-per-minute buckets even below zero, as
     * batch usage is, so the caller's next calls wait until they refill.
     */
    public void settleUsed(String model, long promptTokens) {
        // Usage rows hold an int; the gateway's body limit keeps one upload far below it.
        settle(model, (int) Math.min(promptTokens, Integer.MAX_VALUE), 0);
    }

    /** First call wins; later calls (a doFinally after a doOnNext) do nothing. */
    void settle(int promptTokens, int completionTokens) {
        settle(model, promptTokens, completionTokens);
    }

    private void settle(String billedModel, int promptTokens, int completionTokens) {
        if (settled.compareAndSet(false, true)) {
            limiter.settle(this, billedModel, promptTokens, completionTokens);
        }
    }

    Caller caller() {
        return caller;
    }

    String endpoint() {
        return endpoint;
    }

    String requestId() {
        return requestId;
    }

    Estimate estimate() {
        return estimate;
    }

    List<BucketStore.Take> tokenTakes() {
        return tokenTakes;
    }
}
