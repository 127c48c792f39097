package io.tianshu.gateway.ratelimit;

import io.micrometer.core.instrument.MeterRegistry;
import io.tianshu.gateway.auth.Caller;
import io.tianshu.gateway.calltrace.CallTrace;
import io.tianshu.gateway.config.DynamicConfig;
import io.tianshu.gateway.config.TianshuProperties;
import io.tianshu.gateway.error.ApiException;
import io.tianshu.gateway.usage.UsageStore;
import jakarta.annotation.PreDestroy;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.concurrent.TimeoutException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.springframework.http.HttpHeaders;
import org.springframework.http.HttpStatus;
import org.springframework.stereotype.Component;
import reactor.core.publisher.Mono;
import reactor.core.scheduler.Scheduler;
import reactor.core.scheduler.Schedulers;

/**
 * Admission before a model call: requests per minute and tokens per minute, per key and per
 * tenant, all taken in one atomic step of the {@link BucketStore} or not at all, so a
 * rejection consumes nothing. Then settlement: the reservation is replaced by real usage and
 * the call recorded.
 */
@Component
public class Limiter {

    private static final Logger log = LoggerFactory.getLogger(Limiter.class);

    private static final Duration SHUTDOWN_WAIT = Duration.ofSeconds(10);

    private final BucketStore buckets;
    private final DynamicConfig dynamic;
    private final MeterRegistry meters;
    // One thread that may block: it retries a write through a database outage.
    private final Scheduler writer = Schedulers.newBoundedElastic(1, Integer.MAX_VALUE, "settlements");
    private final Settlements settlements;

    Limiter(BucketStore buckets, UsageStore usage, DynamicConfig dynamic, MeterRegistry meters) {
        this.buckets = buckets;
        this.dynamic = dynamic;
        this.meters = meters;
        this.settlements = new Settlements(buckets, usage::record, () -> dynamic.current().limits().window(), writer);
    }

    /**
     * Admits the call or fails with 429. On admission the informational X-RateLimit-* headers
     * are set on {@code responseHeaders}.
     */
    public Mono<Admission> admit(Caller caller, String endpoint, String model, String requestId, Estimate estimate,
            HttpHeaders responseHeaders) {
        List<BucketStore.Take> requestTakes = new ArrayList<>();
        List<BucketStore.Take> tokenTakes = new ArrayList<>();
        String key = caller.keyId() == null ? null : "key:" + caller.keyId();
        String tenant = "tenant:" + caller.tenant();
        addTake(requestTakes, key, ":requests", caller.keyLimits().rpm(), 1);
        Caller.Limits tenantLimits = tenantLimits(caller);
        addTake(requestTakes, tenant, ":requests", tenantLimits.rpm(), 1);
        addTake(tokenTakes, key, ":tokens", caller.keyLimits().tpm(), estimate.reserveTokens());
        addTake(tokenTakes, tenant, ":tokens", tenantLimits.tpm(), estimate.reserveTokens());
        Admission admission = new Admission(this, caller, endpoint, model, requestId, estimate, tokenTakes);
        for (BucketStore.Take take : tokenTakes) {
            if (take.amount() > take.capacity()) {
                countRejection(take.bucket(), endpoint);
                return Mono.error(tooLarge(take));
            }
        }
        List<BucketStore.Take> all = new ArrayList<>(requestTakes);
        all.addAll(tokenTakes);
        if (all.isEmpty()) {
            return Mono.just(admission);
        }
        Duration window = dynamic.current().limits().window();
        return CallTrace.timed("admit", buckets.admit(all, window)).map(states -> {
            HttpHeaders headers = headers(states, window);
            if (states.stream().allMatch(BucketStore.State::granted)) {
                addUnlessSent(responseHeaders, headers);
                return admission;
            }
            ApiException rejection = rejected(states, all, headers, window);
            states.stream().filter(state -> !state.granted())
                    .forEach(state -> countRejection(state.bucket(), endpoint));
            throw rejection;
        });
    }

    /**
     * A later step of a stream (a file_search turn's search and answer) is admitted after the
     * response's headers went out, and Spring's headers are read-only from then on: the step's
     * limits still apply, only its X-RateLimit headers are left off.
     */
    private static void addUnlessSent(HttpHeaders responseHeaders, HttpHeaders headers) {
        try {
            responseHeaders.addAll(headers);
        } catch (UnsupportedOperationException sent) {
            log.debug("rate-limit headers of a later step left off: the response's headers were sent");
        }
    }

    /**
     * Charges tokens a tenant used outside any request (batch lines) to its tokens-per-minute
     * bucket, even below zero, so its next interactive calls wait until the bucket refills.
     * Nothing to charge when the tenant has no token limit. Blocking; within the caller's
     * database transaction it counts only if that transaction commits.
     *
     * @param storedLimits the tenant's limits from its tenant row (NONE when it has none)
     */
    public void chargeTenant(String tenant, Caller.Limits storedLimits, long tokens) {
        Integer tpm = tenantLimits(tenant, storedLimits).tpm();
        if (tpm == null || tokens <= 0) {
            return;
        }
        buckets.charge(List.of(new BucketStore.Take("tenant:" + tenant + ":tokens", tpm, tokens)),
                dynamic.current().limits().window());
    }

    /** The tenant's stored limits, with whatever the dynamic config overrides for it. */
    Caller.Limits tenantLimits(Caller caller) {
        return tenantLimits(caller.tenant(), caller.tenantLimits());
    }

    private Caller.Limits tenantLimits(String tenant, Caller.Limits stored) {
        TianshuProperties.TenantLimits override = dynamic.current().limits().tenants().get(tenant);
        if (override == null) {
            return stored;
        }
        return new Caller.Limits(override.rpm() != null ? override.rpm() : stored.rpm(),
                override.tpm() != null ? override.tpm() : stored.tpm(), stored.allowedModels(),
                override.ingestTokensPerDay() != null ? override.ingestTokensPerDay() : stored.ingestTokensPerDay());
    }

    private static void addTake(List<BucketStore.Take> takes, String owner, String kind, Integer limit, double amount) {
        if (owner != null && limit != null) {
            takes.add(new BucketStore.Take(owner + kind, limit, amount));
        }
    }

    /** Rejections by whose limit (key or tenant) and which (requests or tokens) refused the call. */
    private void countRejection(String bucket, String endpoint) {
        meters.counter("tianshu.gateway.rate.limit.rejections",
                "scope", bucket.startsWith("key:") ? "key" : "tenant",
                "limit", bucket.endsWith(":tokens") ? "tokens" : "requests",
                "endpoint", endpoint).increment();
    }

    void settle(Admission admission, String model, int promptTokens, int completionTokens) {
        // Counted here, once per call whatever its end, as the usage row is; tenants are
        // created by an admin, so they are a bounded label.
        Caller payer = admission.caller();
        meters.counter("tianshu.gateway.tokens", "kind", "prompt", "tenant", payer.tenant(),
                "model", model, "endpoint", admission.endpoint()).increment(promptTokens);
        meters.counter("tianshu.gateway.tokens", "kind", "completion", "tenant", payer.tenant(),
                "model", model, "endpoint", admission.endpoint()).increment(completionTokens);
        List<BucketStore.Take> deltas = admission.tokenTakes().stream()
                .map(t -> new BucketStore.Take(t.bucket(), t.capacity(),
                        admission.estimate().reserveTokens() - (promptTokens + completionTokens)))
                .toList();
        settlements.add(new Settlements.Settlement(deltas, new UsageStore.Call(payer.tenant(), payer.keyId(),
                payer.subject(), admission.endpoint(), model, promptTokens, completionTokens,
                admission.requestId())));
    }

    /** Waits until every settlement started so far has been written. */
    public void awaitSettled(Duration timeout) throws InterruptedException, TimeoutException {
        settlements.awaitWritten(timeout);
    }

    /** Writes what is still queued before the database pool closes. */
    @PreDestroy
    void stop() throws InterruptedException {
        try {
            settlements.awaitWritten(SHUTDOWN_WAIT);
        } catch (TimeoutException e) {
            log.error("stopping with usage not yet written: {}", e.getMessage());
        }
        writer.dispose();
    }

    private HttpHeaders headers(List<BucketStore.State> states, Duration window) {
        HttpHeaders headers = new HttpHeaders();
        tightest(states, ":requests").ifPresent(s -> put(headers, "Requests", s, window));
        tightest(states, ":tokens").ifPresent(s -> put(headers, "Tokens", s, window));
        return headers;
    }

    private static java.util.Optional<BucketStore.State> tightest(List<BucketStore.State> states, String kind) {
        return states.stream().filter(s -> s.bucket().endsWith(kind))
                .min(Comparator.comparingDouble(BucketStore.State::level));
    }

    private static void put(HttpHeaders headers, String kind, BucketStore.State state, Duration window) {
        TokenBucket bucket = new TokenBucket(state.capacity(), window);
        headers.set("X-RateLimit-Limit-" + kind, String.valueOf((long) state.capacity()));
        headers.set("X-RateLimit-Remaining-" + kind, String.valueOf((long) Math.max(0, Math.floor(state.level()))));
        headers.set("X-RateLimit-Reset-" + kind, RateLimitHeaders.format(bucket.untilFull(state.level())));
    }

    private static ApiException rejected(List<BucketStore.State> states, List<BucketStore.Take> takes,
            HttpHeaders headers, Duration window) {
        Duration wait = Duration.ZERO;
        String which = null;
        for (BucketStore.State state : states) {
            if (state.granted()) {
                continue;
            }
            double amount = takes.stream().filter(t -> t.bucket().equals(state.bucket())).findFirst().orElseThrow()
                    .amount();
            Duration d = new TokenBucket(state.capacity(), window).untilAvailable(state.level(), amount);
            if (which == null || d.compareTo(wait) > 0) {
                wait = d;
                which = state.bucket();
            }
        }
        headers.set(HttpHeaders.RETRY_AFTER, String.valueOf(Math.max(1, (long) Math.ceil(wait.toMillis() / 1000.0))));
        String what = which.endsWith(":tokens") ? "tokens per minute" : "requests per minute";
        String whose = which.startsWith("key:") ? "API key" : "tenant";
        return new ApiException(HttpStatus.TOO_MANY_REQUESTS, "rate_limit_error",
                "Rate limit reached for " + what + " of this " + whose + ". Retry after "
                        + headers.getFirst(HttpHeaders.RETRY_AFTER) + "s.", null, "rate_limit_exceeded", headers);
    }

    private ApiException tooLarge(BucketStore.Take take) {
        return new ApiException(HttpStatus.TOO_MANY_REQUESTS, "rate_limit_error",
                "Request too large: it may use " + (long) take.amount() + " tokens, above the limit of "
                        + (long) take.capacity() + " tokens per minute. Lower max_tokens or the input.",
                null, "rate_limit_exceeded");
    }
}
