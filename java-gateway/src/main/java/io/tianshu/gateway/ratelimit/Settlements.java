package io.tianshu.gateway.ratelimit;

import io.tianshu.gateway.usage.UsageStore;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Queue;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.Consumer;
import java.util.function.Supplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import reactor.core.publisher.Mono;
import reactor.core.scheduler.Scheduler;
import reactor.util.retry.Retry;

/**
 * Settlements of finished calls (unused tokens back to the buckets, one usage row each),
 * written in batches by one background writer. A call's response never waits for its
 * settlement, nor shares a core with a thread woken just to write it; and under load many
 * calls share one refund statement and one batched insert instead of two statements each.
 *
 * <p>The writer starts a short moment after the first settlement of a batch arrives, takes
 * everything queued, and writes the refunds (summed per bucket) then the usage rows, each
 * step retried on its own, so that a usage row that failed never repeats a refund.
 */
final class Settlements {

    /** What one call settles: its buckets' deltas and its usage row. */
    record Settlement(List<BucketStore.Take> deltas, UsageStore.Call usage) {
    }

    private static final Logger log = LoggerFactory.getLogger(Settlements.class);

    // How long a batch gathers after its first settlement: at low rates each call still has
    // a write of its own, after its response; at high rates this is what batches them.
    private static final Duration GATHER = Duration.ofMillis(20);
    private static final int MAX_BATCH = 1000;
    // A call answered while the database blinks (a cached key needs none until here) is
    // still billed: its settlement is tried again for about five minutes before it is logged
    // as lost.
    private static final Retry RETRIES = Retry.backoff(12, Duration.ofMillis(500)).maxBackoff(Duration.ofSeconds(30));

    private final BucketStore buckets;
    private final Consumer<List<UsageStore.Call>> recordUsage;
    private final Supplier<Duration> window;
    private final Scheduler writer;
    private final Queue<Settlement> queue = new ConcurrentLinkedQueue<>();
    private final AtomicBoolean writing = new AtomicBoolean();
    // Settlements queued and written so far; written catches up with queued in queue order.
    private final AtomicLong queued = new AtomicLong();
    private long written;

    /**
     * @param recordUsage writes usage rows, all or none; blocking
     * @param writer where the writer runs; it blocks while a write is retried
     */
    Settlements(BucketStore buckets, Consumer<List<UsageStore.Call>> recordUsage, Supplier<Duration> window,
            Scheduler writer) {
        this.buckets = buckets;
        this.recordUsage = recordUsage;
        this.window = window;
        this.writer = writer;
    }

    void add(Settlement settlement) {
        queue.add(settlement);
        queued.incrementAndGet();
        startWriter();
    }

    /** Waits until every settlement added so far has been written (or given up on). */
    void awaitWritten(Duration timeout) throws InterruptedException, TimeoutException {
        long target = queued.get();
        long deadline = System.nanoTime() + timeout.toNanos();
        synchronized (this) {
            while (written < target) {
                long left = deadline - System.nanoTime();
                if (left <= 0) {
                    throw new TimeoutException(target - written + " settlements still being written");
                }
                TimeUnit.NANOSECONDS.timedWait(this, left);
            }
        }
    }

    private void startWriter() {
        if (!queue.isEmpty() && writing.compareAndSet(false, true)) {
            writer.schedule(this::writeAll, GATHER.toMillis(), TimeUnit.MILLISECONDS);
        }
    }

    private void writeAll() {
        try {
            for (List<Settlement> batch = take(); !batch.isEmpty(); batch = take()) {
                write(batch);
            }
        } finally {
            writing.set(false);
            // One added between the last take and the flag's reset found the writer running.
            startWriter();
        }
    }

    private List<Settlement> take() {
        List<Settlement> batch = new ArrayList<>();
        for (Settlement s; batch.size() < MAX_BATCH && (s = queue.poll()) != null; ) {
            batch.add(s);
        }
        return batch;
    }

    private void write(List<Settlement> batch) {
        try {
            List<BucketStore.Take> deltas = summed(batch);
            if (!deltas.isEmpty()) {
                try {
                    buckets.settle(deltas, window.get()).retryWhen(RETRIES).block();
                } catch (RuntimeException e) {
                    log.error("returning the unused tokens of requests {} failed", requestIds(batch), e);
                }
            }
            try {
                List<UsageStore.Call> calls = batch.stream().map(Settlement::usage).toList();
                Mono.fromRunnable(() -> recordUsage.accept(calls)).retryWhen(RETRIES).block();
            } catch (RuntimeException e) {
                log.error("recording the usage of requests {} failed", requestIds(batch), e);
            }
        } finally {
            synchronized (this) {
                written += batch.size();
                notifyAll();
            }
        }
    }

    /** One delta per bucket; the latest capacity, should a limit have changed in between. */
    private static List<BucketStore.Take> summed(List<Settlement> batch) {
        Map<String, BucketStore.Take> byBucket = new LinkedHashMap<>();
        for (Settlement settlement : batch) {
            for (BucketStore.Take delta : settlement.deltas()) {
                byBucket.merge(delta.bucket(), delta, (a, b) ->
                        new BucketStore.Take(a.bucket(), b.capacity(), a.amount() + b.amount()));
            }
        }
        return byBucket.values().stream().filter(t -> t.amount() != 0).toList();
    }

    private static List<String> requestIds(List<Settlement> batch) {
        return batch.stream().map(s -> s.usage().requestId()).toList();
    }
}
