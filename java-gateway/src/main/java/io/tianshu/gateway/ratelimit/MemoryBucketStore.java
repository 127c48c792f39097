package io.tianshu.gateway.ratelimit;

import com.github.benmanes.caffeine.cache.Cache;
import com.github.benmanes.caffeine.cache.Caffeine;
import com.github.benmanes.caffeine.cache.Expiry;
import com.github.benmanes.caffeine.cache.Ticker;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import org.springframework.transaction.support.TransactionSynchronization;
import org.springframework.transaction.support.TransactionSynchronizationManager;
import reactor.core.publisher.Mono;

/**
 * Rate-limit buckets in this process's memory: what rate_admit_many, rate_settle and rate_charge do
 * to stored buckets, without a database round trip on every call. Only right for a single
 * gateway instance, since no other instance sees these buckets.
 *
 * <p>Only buckets below capacity are held: a bucket that is full again, the state of any
 * bucket not used yet, expires at the moment refill makes it full, so an idle key or tenant
 * holds no memory. That moment is computed with the window of the bucket's last change; after
 * the window is lengthened at run time a bucket can be let go a little before it is full.
 *
 * <p>One lock around each operation makes an admission all-or-none across its buckets; what
 * it guards is arithmetic on a handful of entries, so contention costs microseconds.
 */
final class MemoryBucketStore implements BucketStore {

    /** A bucket's tokens at {@code atNanos} of the ticker; refill from there is computed when read. */
    private record Level(TokenBucket bucket, double tokens, long atNanos) {
    }

    private final Ticker ticker;
    private final Cache<String, Level> levels;
    private final Object lock = new Object();

    MemoryBucketStore() {
        this(Ticker.systemTicker());
    }

    MemoryBucketStore(Ticker ticker) {
        this.ticker = ticker;
        this.levels = Caffeine.newBuilder().ticker(ticker).expireAfter(new UntilFull()).build();
    }

    @Override
    public Mono<List<State>> admit(List<Take> takes, Duration window) {
        return Mono.fromCallable(() -> take(takes, window));
    }

    @Override
    public Mono<Void> settle(List<Take> deltas, Duration window) {
        return Mono.fromRunnable(() -> add(deltas, window));
    }

    /**
     * Inside a transaction (a page of batch usage), applied once it commits: memory cannot roll
     * back with the page, and a page rolled back is charged again later.
     */
    @Override
    public void charge(List<Take> takes, Duration window) {
        List<Take> negated = takes.stream().map(t -> new Take(t.bucket(), t.capacity(), -t.amount())).toList();
        if (TransactionSynchronizationManager.isSynchronizationActive()) {
            TransactionSynchronizationManager.registerSynchronization(new TransactionSynchronization() {
                @Override
                public void afterCommit() {
                    add(negated, window);
                }
            });
        } else {
            add(negated, window);
        }
    }

    /** The tokens held for {@code bucket} as last written; null when it is full, so not held. */
    Double tokens(String bucket) {
        Level level = levels.getIfPresent(bucket);
        return level == null ? null : level.tokens();
    }

    /** How many buckets below capacity are held. */
    long heldBuckets() {
        levels.cleanUp();
        return levels.estimatedSize();
    }

    private List<State> take(List<Take> takes, Duration window) {
        // In bucket order, as the database store answers.
        List<Take> ordered = takes.stream().sorted(Comparator.comparing(Take::bucket)).toList();
        double[] before = new double[ordered.size()];
        List<State> states = new ArrayList<>(ordered.size());
        synchronized (lock) {
            long now = ticker.read();
            boolean all = true;
            for (int i = 0; i < ordered.size(); i++) {
                before[i] = levelAt(ordered.get(i), window, now);
                all &= before[i] >= ordered.get(i).amount();
            }
            for (int i = 0; i < ordered.size(); i++) {
                Take take = ordered.get(i);
                double after = all ? before[i] - take.amount() : before[i];
                if (all) {
                    store(take, window, after, now);
                }
                states.add(new State(take.bucket(), take.capacity(), after, before[i] >= take.amount()));
            }
        }
        return states;
    }

    /** Adds each amount, never past capacity; below zero is allowed. */
    private void add(List<Take> amounts, Duration window) {
        synchronized (lock) {
            long now = ticker.read();
            for (Take amount : amounts) {
                store(amount, window, Math.min(amount.capacity(), levelAt(amount, window, now) + amount.amount()), now);
            }
        }
    }

    private double levelAt(Take take, Duration window, long now) {
        Level stored = levels.getIfPresent(take.bucket());
        if (stored == null) {
            return take.capacity();
        }
        return new TokenBucket(take.capacity(), window).refill(stored.tokens(), Duration.ofNanos(now - stored.atNanos()));
    }

    private void store(Take take, Duration window, double tokens, long now) {
        if (tokens >= take.capacity()) {
            levels.invalidate(take.bucket());
        } else {
            levels.put(take.bucket(), new Level(new TokenBucket(take.capacity(), window), tokens, now));
        }
    }

    /** An entry lives until refill makes its bucket full. */
    private static final class UntilFull implements Expiry<String, Level> {

        @Override
        public long expireAfterCreate(String bucket, Level level, long currentTime) {
            long untilFull = level.bucket().untilFull(level.tokens()).toNanos();
            return Math.max(0, untilFull - Math.max(0, currentTime - level.atNanos()));
        }

        @Override
        public long expireAfterUpdate(String bucket, Level level, long currentTime, long currentDuration) {
            return expireAfterCreate(bucket, level, currentTime);
        }

        @Override
        public long expireAfterRead(String bucket, Level level, long currentTime, long currentDuration) {
            return currentDuration;
        }
    }
}
