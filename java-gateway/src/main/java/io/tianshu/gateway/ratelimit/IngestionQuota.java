package io.tianshu.gateway.ratelimit;

import io.micrometer.core.instrument.MeterRegistry;
import io.tianshu.gateway.auth.Caller;
import io.tianshu.gateway.db.Blocking;
import io.tianshu.gateway.error.ApiException;
import java.time.Duration;
import java.util.List;
import java.util.Locale;
import java.util.OptionalLong;
import org.springframework.http.HttpHeaders;
import org.springframework.http.HttpStatus;
import org.springframework.stereotype.Component;
import reactor.core.publisher.Mono;

/**
 * A tenant's ingestion quota ({@code ingest_tokens_per_day}): the embedding tokens its document
 * uploads may use, a token bucket of that capacity refilling over 24 hours, in the same
 * {@link BucketStore} as the per-minute limits. An upload is given what is left as its ceiling,
 * which the RAG service checks against the upload's own count before it stores anything; an
 * accepted upload is then charged that count, even below zero.
 *
 * <p>Reading what is left and charging are two steps, not one: two uploads of a tenant that
 * race may both be given the same remainder and together overdraw it. The bucket then stays
 * below zero and the tenant's next upload waits until it refills. Holding the bucket across
 * the RAG call would serialize a tenant's uploads on a lock held for seconds.
 */
@Component
public class IngestionQuota {

    /** The uploads' endpoint in usage rows and metrics. */
    public static final String ENDPOINT = "rag.documents";

    static final Duration DAY = Duration.ofDays(1);

    private final BucketStore buckets;
    private final Limiter limiter;
    private final MeterRegistry meters;

    IngestionQuota(BucketStore buckets, Limiter limiter, MeterRegistry meters) {
        this.buckets = buckets;
        this.limiter = limiter;
        this.meters = meters;
    }

    /**
     * What an upload may use.
     *
     * @param perDay the tenant's quota, or null when it has none
     * @param level the tokens its bucket held when read (may be below zero); unused when unlimited
     */
    public record Allowance(String tenant, Long perDay, double level) {

        /** The whole tokens left: what an upload may need at most. */
        public long left() {
            return (long) Math.max(0, Math.floor(level));
        }

        /** {@code max_embedding_tokens} for the RAG service: 0 is its "no limit". */
        public long maxEmbeddingTokens() {
            return perDay == null ? 0 : left();
        }

        /**
         * 429 for an upload that needs more than is left, saying how much it needs (when the
         * RAG service said), how much is left of how much, and when to come back. An upload
         * larger than the whole quota can never pass: it gets no Retry-After.
         */
        ApiException exceeded(OptionalLong needed) {
            String quota = "ingestion tokens per day";
            if (needed.isPresent() && needed.getAsLong() > perDay) {
                return new ApiException(HttpStatus.TOO_MANY_REQUESTS, "rate_limit_error",
                        "This upload needs " + count(needed.getAsLong()) + " embedding tokens, more than the "
                                + count(perDay) + " " + quota + " of tenant " + tenant
                                + ". Upload fewer or smaller documents at a time.",
                        null, "ingestion_quota_exceeded");
            }
            long wanted = needed.orElse(1);
            Duration wait = new TokenBucket(perDay, DAY).untilAvailable(level, wanted);
            long seconds = Math.max(1, (long) Math.ceil(wait.toMillis() / 1000.0));
            HttpHeaders headers = new HttpHeaders();
            headers.set(HttpHeaders.RETRY_AFTER, String.valueOf(seconds));
            String upload = needed.isPresent()
                    ? "This upload needs " + count(needed.getAsLong()) + " embedding tokens; tenant "
                    : "Tenant ";
            return new ApiException(HttpStatus.TOO_MANY_REQUESTS, "rate_limit_error",
                    upload + tenant + " has " + count(left()) + " of its " + count(perDay) + " " + quota
                            + " left. Retry after " + seconds + "s.",
                    null, "ingestion_quota_exceeded", headers);
        }

        private static String count(long tokens) {
            return String.format(Locale.ROOT, "%,d", tokens);
        }
    }

    /**
     * What the caller's tenant may still ingest, read without taking anything; 429 without
     * a whole token left, since the RAG service reads a ceiling of 0 as no limit.
     */
    public Mono<Allowance> allowance(Caller caller) {
        Long perDay = limiter.tenantLimits(caller).ingestTokensPerDay();
        if (perDay == null) {
            return Mono.just(new Allowance(caller.tenant(), null, 0));
        }
        // A take of nothing reads the level, refilled to now, and changes nothing.
        return buckets.admit(List.of(new BucketStore.Take(bucket(caller.tenant()), perDay, 0)), DAY)
                .map(states -> {
                    Allowance allowance = new Allowance(caller.tenant(), perDay, states.get(0).level());
                    if (allowance.left() < 1) {
                        throw refused(allowance, OptionalLong.empty());
                    }
                    return allowance;
                });
    }

    /**
     * The refusal of an upload the RAG service found bigger than its allowance, in the quota's
     * terms (see {@link Allowance#exceeded}).
     *
     * @param needed the upload's embedding tokens, when the RAG service's refusal said
     */
    public ApiException refused(Allowance allowance, OptionalLong needed) {
        meters.counter("tianshu.gateway.rate.limit.rejections", "scope", "tenant", "limit", "ingest_tokens",
                "endpoint", ENDPOINT).increment();
        return allowance.exceeded(needed);
    }

    /** Takes an accepted upload's tokens from its tenant's quota, even below zero. */
    public Mono<Void> charge(Allowance allowance, long tokens) {
        if (allowance.perDay() == null || tokens <= 0) {
            return Mono.empty();
        }
        return Blocking.call(() -> {
            buckets.charge(List.of(new BucketStore.Take(bucket(allowance.tenant()), allowance.perDay(), tokens)), DAY);
            return true;
        }).then();
    }

    static String bucket(String tenant) {
        return "tenant:" + tenant + ":ingest_tokens";
    }
}
