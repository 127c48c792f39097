package io.tianshu.gateway.ratelimit;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.Test;
import org.springframework.transaction.TransactionDefinition;
import org.springframework.transaction.support.AbstractPlatformTransactionManager;
import org.springframework.transaction.support.DefaultTransactionStatus;
import org.springframework.transaction.support.TransactionTemplate;

class MemoryBucketStoreTest {

    private static final Duration MINUTE = Duration.ofMinutes(1);

    private final AtomicLong nanos = new AtomicLong();
    private final MemoryBucketStore store = new MemoryBucketStore(nanos::get);

    @Test
    void admissionTakesFromEveryBucketOrFromNone() {
        List<BucketStore.State> refused = admit(new BucketStore.Take("b", 2, 3), new BucketStore.Take("a", 10, 1));

        assertThat(refused).containsExactly(new BucketStore.State("a", 10, 10, true),
                new BucketStore.State("b", 2, 2, false));
        assertThat(store.heldBuckets()).isZero();

        List<BucketStore.State> granted = admit(new BucketStore.Take("b", 2, 2), new BucketStore.Take("a", 10, 1));

        assertThat(granted).containsExactly(new BucketStore.State("a", 10, 9, true),
                new BucketStore.State("b", 2, 0, true));
        assertThat(store.tokens("a")).isEqualTo(9.0);
        assertThat(store.tokens("b")).isEqualTo(0.0);
    }

    @Test
    void bucketsRefillAtCapacityPerWindow() {
        admit(new BucketStore.Take("a", 60, 60));
        advance(Duration.ofSeconds(10));

        assertThat(admit(new BucketStore.Take("a", 60, 11))).singleElement()
                .satisfies(state -> assertThat(state.granted()).isFalse())
                .satisfies(state -> assertThat(state.level()).isCloseTo(10, within(1e-9)));
        assertThat(admit(new BucketStore.Take("a", 60, 10))).singleElement()
                .satisfies(state -> assertThat(state.granted()).isTrue());
    }

    @Test
    void aBucketFullAgainIsLetGoAndComesBackFull() {
        admit(new BucketStore.Take("a", 10, 1));
        advance(Duration.ofSeconds(3));
        assertThat(store.heldBuckets()).isEqualTo(1);

        advance(Duration.ofMinutes(2));

        assertThat(store.heldBuckets()).isZero();
        assertThat(admit(new BucketStore.Take("a", 10, 10))).singleElement()
                .satisfies(state -> assertThat(state.granted()).isTrue());
    }

    @Test
    void settlementGivesBackNoMoreThanCapacityAndTakesBelowZero() {
        admit(new BucketStore.Take("a", 10, 5));
        settle(new BucketStore.Take("a", 10, 100));
        assertThat(store.tokens("a")).isNull();

        admit(new BucketStore.Take("a", 10, 5));
        settle(new BucketStore.Take("a", 10, -20));
        assertThat(store.tokens("a")).isEqualTo(-15.0);
        assertThat(admit(new BucketStore.Take("a", 10, 1))).singleElement()
                .satisfies(state -> assertThat(state.granted()).isFalse());
    }

    @Test
    void settlingABucketLetGoStartsFromFull() {
        settle(new BucketStore.Take("a", 10, -4));
        assertThat(store.tokens("a")).isEqualTo(6.0);
    }

    @Test
    void chargeTakesBelowZeroFromAFullBucket() {
        store.charge(List.of(new BucketStore.Take("tenant:t:tokens", 10, 25)), MINUTE);
        assertThat(store.tokens("tenant:t:tokens")).isEqualTo(-15.0);
    }

    @Test
    void chargeInATransactionCountsOnlyOnceItCommits() {
        TransactionTemplate transactions = new TransactionTemplate(new NoResourceTransactions());
        List<BucketStore.Take> charge = List.of(new BucketStore.Take("a", 10, 4));

        transactions.executeWithoutResult(status -> {
            store.charge(charge, MINUTE);
            status.setRollbackOnly();
        });
        assertThat(store.tokens("a")).isNull();

        transactions.executeWithoutResult(status -> {
            store.charge(charge, MINUTE);
            assertThat(store.tokens("a")).isNull();
        });
        assertThat(store.tokens("a")).isEqualTo(6.0);
    }

    @Test
    void concurrentAdmissionsSharingABucketGrantExactlyItsCapacityAndNeverHalfAnAdmission() throws Exception {
        int threads = 4;
        int attempts = 200;
        ExecutorService pool = Executors.newFixedThreadPool(threads);
        try {
            List<Future<Integer>> granted = new ArrayList<>();
            for (int t = 0; t < threads; t++) {
                String own = "own:" + t;
                Callable<Integer> caller = () -> {
                    int n = 0;
                    for (int i = 0; i < attempts; i++) {
                        List<BucketStore.State> states = admit(new BucketStore.Take("shared", 100, 1),
                                new BucketStore.Take(own, 1000, 1));
                        n += states.stream().allMatch(BucketStore.State::granted) ? 1 : 0;
                    }
                    return n;
                };
                granted.add(pool.submit(caller));
            }
            int total = 0;
            for (int t = 0; t < threads; t++) {
                int n = granted.get(t).get();
                // Every own bucket lost exactly what its caller was granted: no half-taken admission
                // (a caller granted nothing left its bucket full, so not held).
                Double own = store.tokens("own:" + t);
                assertThat(own == null ? 1000.0 : own).isEqualTo(1000.0 - n);
                total += n;
            }
            assertThat(total).isEqualTo(100);
            assertThat(store.tokens("shared")).isEqualTo(0.0);
        } finally {
            pool.shutdownNow();
        }
    }

    private List<BucketStore.State> admit(BucketStore.Take... takes) {
        return store.admit(List.of(takes), MINUTE).block();
    }

    private void settle(BucketStore.Take... deltas) {
        store.settle(List.of(deltas), MINUTE).block();
    }

    private void advance(Duration by) {
        nanos.addAndGet(by.toNanos());
    }

    /** Transactions with nothing behind them but Spring's synchronization callbacks. */
    private static final class NoResourceTransactions extends AbstractPlatformTransactionManager {

        @Override
        protected Object doGetTransaction() {
            return new Object();
        }

        @Override
        protected void doBegin(Object transaction, TransactionDefinition definition) {
        }

        @Override
        protected void doCommit(DefaultTransactionStatus status) {
        }

        @Override
        protected void doRollback(DefaultTransactionStatus status) {
        }
    }
}
