package io.tianshu.gateway.ratelimit;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.tianshu.gateway.usage.UsageStore;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.stream.Collectors;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import reactor.core.publisher.Mono;
import reactor.core.scheduler.Scheduler;
import reactor.core.scheduler.Schedulers;
import reactor.test.scheduler.VirtualTimeScheduler;

/** Settlements written in batches, after their calls, each step retried on its own. */
class SettlementsTest {

    private static final Duration WINDOW = Duration.ofMinutes(1);

    private final RecordingBuckets buckets = new RecordingBuckets();
    private final List<List<UsageStore.Call>> usageWrites = new CopyOnWriteArrayList<>();
    private final AtomicInteger usageFailuresLeft = new AtomicInteger();
    private Scheduler writer;

    @AfterEach
    void stop() {
        if (writer != null) {
            writer.dispose();
        }
    }

    @Test
    void settlementsOfCallsEndingTogetherAreOneRefundPerBucketAndOneInsert() throws Exception {
        VirtualTimeScheduler time = VirtualTimeScheduler.create();
        writer = time;
        Settlements settlements = settlements(time);
        for (int i = 0; i < 100; i++) {
            settlements.add(settlement("req-" + i, i % 2 == 0 ? 30 : -5));
        }
        assertThat(buckets.settled).as("nothing written on the calls' own paths").isEmpty();

        time.advanceTimeBy(Duration.ofMillis(20));
        settlements.awaitWritten(Duration.ofSeconds(10));

        assertThat(buckets.settled).singleElement().satisfies(refund ->
                assertThat(refund.stream().collect(Collectors.toMap(BucketStore.Take::bucket, BucketStore.Take::amount)))
                        .isEqualTo(Map.of("key:k:tokens", 50 * 30.0 - 50 * 5.0, "tenant:t:tokens", 50 * 30.0 - 50 * 5.0)));
        assertThat(usageWrites).singleElement().satisfies(rows -> assertThat(rows).hasSize(100)
                .extracting(UsageStore.Call::requestId).startsWith("req-0", "req-1").endsWith("req-99"));
    }

    @Test
    void aSettlementAddedLaterGetsAWriteOfItsOwn() throws Exception {
        VirtualTimeScheduler time = VirtualTimeScheduler.create();
        writer = time;
        Settlements settlements = settlements(time);
        settlements.add(settlement("first", 10));
        time.advanceTimeBy(Duration.ofMillis(20));
        settlements.add(settlement("second", 10));
        time.advanceTimeBy(Duration.ofMillis(20));
        settlements.awaitWritten(Duration.ofSeconds(10));

        assertThat(usageWrites).hasSize(2);
        assertThat(buckets.settled).hasSize(2);
    }

    @Test
    void aRefundThatFailsIsRetriedAndTheUsageWrittenOnce() throws Exception {
        writer = Schedulers.newBoundedElastic(1, 100, "settlements-test");
        buckets.failuresLeft.set(2);
        Settlements settlements = settlements(writer);
        settlements.add(settlement("req", 10));
        settlements.awaitWritten(Duration.ofSeconds(30));

        assertThat(buckets.attempts).hasValue(3);
        assertThat(buckets.settled).hasSize(1);
        assertThat(usageWrites).singleElement().satisfies(rows -> assertThat(rows).hasSize(1));
    }

    @Test
    void aUsageWriteThatFailsIsRetriedWithoutRepeatingTheRefund() throws Exception {
        writer = Schedulers.newBoundedElastic(1, 100, "settlements-test");
        usageFailuresLeft.set(2);
        Settlements settlements = settlements(writer);
        settlements.add(settlement("req", 10));
        settlements.awaitWritten(Duration.ofSeconds(30));

        assertThat(buckets.attempts).hasValue(1);
        assertThat(usageWrites).hasSize(1);
    }

    @Test
    void waitingForTheWritesEndsWhenTheirTimeIsUp() {
        VirtualTimeScheduler time = VirtualTimeScheduler.create();
        writer = time;
        Settlements settlements = settlements(time);
        settlements.add(settlement("never written: the writer's time does not move", 10));

        assertThatThrownBy(() -> settlements.awaitWritten(Duration.ofMillis(100))).isInstanceOf(TimeoutException.class)
                .hasMessageContaining("1 settlements");
    }

    private Settlements settlements(Scheduler on) {
        return new Settlements(buckets, calls -> {
            if (usageFailuresLeft.getAndDecrement() > 0) {
                throw new IllegalStateException("database down");
            }
            usageWrites.add(List.copyOf(calls));
        }, () -> WINDOW, on);
    }

    private static Settlements.Settlement settlement(String requestId, double refund) {
        return new Settlements.Settlement(
                List.of(new BucketStore.Take("key:k:tokens", 1000, refund), new BucketStore.Take("tenant:t:tokens", 1000,
                        refund)),
                new UsageStore.Call("t", null, "s", "chat.completions", "m", 5, 5, requestId));
    }

    /** Records each settle call's deltas; fails the first failuresLeft calls. */
    private static final class RecordingBuckets implements BucketStore {
        final List<List<Take>> settled = new CopyOnWriteArrayList<>();
        final AtomicInteger attempts = new AtomicInteger();
        final AtomicInteger failuresLeft = new AtomicInteger();

        @Override
        public Mono<List<State>> admit(List<Take> takes, Duration window) {
            throw new UnsupportedOperationException();
        }

        @Override
        public Mono<Void> settle(List<Take> deltas, Duration window) {
            return Mono.fromRunnable(() -> {
                attempts.incrementAndGet();
                if (failuresLeft.getAndDecrement() > 0) {
                    throw new IllegalStateException("database down");
                }
                settled.add(List.copyOf(deltas));
            });
        }

        @Override
        public void charge(List<Take> takes, Duration window) {
            throw new UnsupportedOperationException();
        }
    }
}
