package io.tianshu.gateway.ratelimit;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

import java.time.Duration;
import java.util.List;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import reactor.core.publisher.Mono;

/**
 * Slices of busy buckets leased from a shared store (the in-memory one here; PostgresRateLimitTest
 * runs the gateway's limits on PostgreSQL through it): calls admitted from a slice never go to
 * the shared store, no instance grants more than a bucket holds, and what a lease has left goes
 * back when it ends. The clock stands still unless a test moves it, so no bucket refills.
 */
class LeasingBucketStoreTest {

    // A day's window: a bucket refills 0.12 of 10,000 in the second a lease lasts.
    private static final Duration WINDOW = Duration.ofDays(1);
    private static final Duration LEASE = Duration.ofSeconds(1);
    private static final double FRACTION = 0.02;

    private final AtomicLong nanos = new AtomicLong();
    private final MemoryBucketStore memory = new MemoryBucketStore(nanos::get);
    private final CountingStore shared = new CountingStore(memory);
    private final LeasingBucketStore store = leasing();

    private LeasingBucketStore leasing() {
        return new LeasingBucketStore(shared, FRACTION, LEASE, nanos::get);
    }

    @AfterEach
    void close() {
        store.close();
    }

    @Test
    void callsAfterTheFirstAreAdmittedFromItsSliceWithoutTheSharedStore() {
        // 10,000 a minute: a slice of 200 calls.
        for (int i = 0; i < 201; i++) {
            assertThat(granted(store, take("key:k:requests", 10_000, 1))).isTrue();
        }
        assertThat(shared.admissions).as("the first call took a slice; the next 200 came from it").hasValue(1);
        assertThat(memory.tokens("key:k:requests")).isEqualTo(10_000 - 1 - 200.0);

        assertThat(granted(store, take("key:k:requests", 10_000, 1))).isTrue();
        assertThat(shared.admissions).as("the slice used up, the next call tops it up").hasValue(2);
    }

    @Test
    void theCallerSeesTheBucketWithTheSliceThisInstanceHolds() {
        admit(store, take("key:k:requests", 10_000, 1));
        List<BucketStore.State> states = admit(store, take("key:k:requests", 10_000, 1));

        assertThat(states).singleElement().satisfies(state -> {
            assertThat(state.granted()).isTrue();
            assertThat(state.level()).isCloseTo(10_000 - 2, within(1e-9));
        });
    }

    @Test
    void smallLimitsAndCallsTooLargeForASliceAlwaysGoToTheSharedStore() {
        for (int i = 0; i < 5; i++) {
            assertThat(granted(store, take("key:k:requests", 600, 1))).isTrue();
        }
        assertThat(shared.admissions).as("600 a minute: a slice of 12, fewer than 100").hasValue(5);
        assertThat(memory.tokens("key:k:requests")).isEqualTo(595.0);

        // A slice of 2,000 tokens covers fewer than ten calls of 400.
        assertThat(granted(store, take("key:j:requests", 10_000, 1), take("key:j:tokens", 100_000, 400))).isTrue();
        assertThat(granted(store, take("key:j:requests", 10_000, 1), take("key:j:tokens", 100_000, 400))).isTrue();
        assertThat(shared.admissions).hasValue(7);
        assertThat(memory.tokens("key:j:requests")).as("no slice taken alongside").isEqualTo(10_000 - 2.0);
    }

    @Test
    void oneInstanceGrantsExactlyWhatTheBucketHolds() {
        int granted = 0;
        for (int i = 0; i < 10_050; i++) {
            granted += granted(store, take("tenant:t:requests", 10_000, 1)) ? 1 : 0;
        }
        assertThat(granted).isEqualTo(10_000);
        assertThat(shared.admissions.get()).as("one statement per slice, then one per call once the bucket "
                + "cannot give a slice").isLessThan(300);
    }

    @Test
    void instancesSharingTheBucketNeverGrantMoreThanItHoldsAndTheRestIsGivenBackWhenTheLeasesEnd() {
        LeasingBucketStore other = leasing();
        int granted = 0;
        for (int i = 0; i < 6_000; i++) {
            granted += granted(store, take("tenant:t:requests", 10_000, 1)) ? 1 : 0;
            granted += granted(other, take("tenant:t:requests", 10_000, 1)) ? 1 : 0;
        }
        assertThat(granted).as("at most one slice short of the bucket: the one the other instance holds")
                .isBetween(10_000 - 200, 10_000);

        nanos.addAndGet(LEASE.toNanos());
        store.returnEnded();
        other.returnEnded();
        assertThat(memory.tokens("tenant:t:requests")).as("every slice left given back (refilled, if written)")
                .isBetween(10_000.0 - granted, 10_000.0 - granted + refill(10_000, LEASE));
        other.close();
    }

    @Test
    void aCallTheSliceWouldNotFitIsStillGrantedWhenTheBucketHoldsItsOwnAmount() {
        admit(memory, take("key:k:requests", 10_000, 9_900));
        assertThat(granted(store, take("key:k:requests", 10_000, 1))).as("100 left: not 1 + a slice of 200")
                .isTrue();
        assertThat(memory.tokens("key:k:requests")).isEqualTo(99.0);
    }

    @Test
    void aLeaseLeftUnusedGoesBackWhenItEnds() {
        admit(store, take("key:k:requests", 10_000, 1));
        assertThat(memory.tokens("key:k:requests")).isEqualTo(10_000 - 201.0);

        nanos.addAndGet(LEASE.toNanos() - 1);
        store.returnEnded();
        assertThat(memory.tokens("key:k:requests")).as("not before it ends").isEqualTo(10_000 - 201.0);
        nanos.addAndGet(1);
        store.returnEnded();
        assertThat(memory.tokens("key:k:requests")).isCloseTo(10_000 - 1 + refill(10_000, LEASE), within(1e-6));

        assertThat(granted(store, take("key:k:requests", 10_000, 1))).isTrue();
        assertThat(shared.admissions).as("an ended lease admits nothing").hasValue(2);
    }

    @Test
    void aLeaseInUseLastsALeaseTimeFromItsLastCall() {
        admit(store, take("key:k:requests", 10_000, 1));
        for (int i = 0; i < 3; i++) {
            nanos.addAndGet(LEASE.toNanos() - 1);
            store.returnEnded();
            assertThat(granted(store, take("key:k:requests", 10_000, 1))).isTrue();
        }
        assertThat(shared.admissions).as("three seconds of calls from one slice").hasValue(1);
    }

    @Test
    void stoppingGivesBackWhatTheLeasesHold() {
        admit(store, take("key:k:requests", 10_000, 1), take("key:k:tokens", 1_000_000, 50));
        store.close();

        assertThat(memory.tokens("key:k:requests")).isEqualTo(10_000 - 1.0);
        assertThat(memory.tokens("key:k:tokens")).isEqualTo(1_000_000 - 50.0);
    }

    @Test
    void changedLimitsEndTheLeaseAndGiveItsSliceBack() {
        admit(store, take("key:k:requests", 10_000, 1));
        admit(store, take("key:k:requests", 20_000, 1));

        assertThat(shared.admissions).hasValue(2);
        assertThat(memory.tokens("key:k:requests")).as("the first slice back, a new one of 400 taken")
                .isEqualTo(10_000 - 201 - 401 + 200.0);
    }

    @Test
    void aCallThatTakesNothingReadsTheSharedBucket() {
        admit(store, take("tenant:t:ingest", 1_000_000, 0));
        admit(store, take("tenant:t:ingest", 1_000_000, 0));

        assertThat(shared.admissions).hasValue(2);
        assertThat(memory.tokens("tenant:t:ingest")).as("no slice taken: the bucket is full").isNull();
    }

    @Test
    void aCallThatOnlyChecksABucketIsAdmittedFromTheSlicesWithoutTakingASliceOfIt() {
        // A search: a request, and a check that the tenant's tokens are not spent.
        for (int i = 0; i < 10; i++) {
            assertThat(granted(store, take("tenant:t:requests", 10_000, 1), take("tenant:t:tokens", 1_000_000, 0)))
                    .isTrue();
        }
        assertThat(shared.admissions).as("the first call went to the shared store, the rest came from its slice")
                .hasValue(1);
        assertThat(memory.tokens("tenant:t:tokens")).as("nothing taken of the checked bucket").isNull();
        assertThat(admit(store, take("tenant:t:requests", 10_000, 1), take("tenant:t:tokens", 1_000_000, 0)))
                .filteredOn(state -> state.bucket().equals("tenant:t:tokens")).singleElement()
                .satisfies(state -> assertThat(state.level()).isEqualTo(1_000_000.0));
    }

    @Test
    void aCheckedLevelIsBelievedForALeaseTimeFromTheSharedAnswerNotFromTheLastCall() {
        admit(store, take("tenant:t:requests", 10_000, 1), take("tenant:t:tokens", 1_000_000, 0));
        nanos.addAndGet(LEASE.toNanos() - 1);
        admit(store, take("tenant:t:requests", 10_000, 1), take("tenant:t:tokens", 1_000_000, 0));
        assertThat(shared.admissions).hasValue(1);

        nanos.addAndGet(1);
        admit(store, take("tenant:t:requests", 10_000, 1), take("tenant:t:tokens", 1_000_000, 0));
        assertThat(shared.admissions).as("the requests' lease lives on, the tokens' level is read again")
                .hasValue(2);
    }

    @Test
    void tokensChargedBelowZeroRefuseTheCallsThatCheckThemWithinALeaseTime() {
        assertThat(granted(store, take("tenant:t:requests", 10_000, 1), take("tenant:t:tokens", 1_000_000, 0)))
                .isTrue();
        // A batch's lines charged meanwhile, on another instance.
        memory.charge(List.of(take("tenant:t:tokens", 1_000_000, 2_000_000)), WINDOW);
        assertThat(granted(store, take("tenant:t:requests", 10_000, 1), take("tenant:t:tokens", 1_000_000, 0)))
                .as("within the lease time of the level it read").isTrue();

        nanos.addAndGet(LEASE.toNanos());
        for (int i = 0; i < 3; i++) {
            assertThat(granted(store, take("tenant:t:requests", 10_000, 1),
                    take("tenant:t:tokens", 1_000_000, 0))).isFalse();
        }
        assertThat(memory.tokens("tenant:t:requests")).as("refused calls take nothing (a second's refill aside)")
                .isCloseTo(10_000 - 201.0, within(0.5));
    }

    private static double refill(double capacity, Duration time) {
        return capacity * time.toNanos() / WINDOW.toNanos();
    }

    private static BucketStore.Take take(String bucket, double capacity, double amount) {
        return new BucketStore.Take(bucket, capacity, amount);
    }

    private static List<BucketStore.State> admit(BucketStore store, BucketStore.Take... takes) {
        return store.admit(List.of(takes), WINDOW).block();
    }

    private static boolean granted(BucketStore store, BucketStore.Take... takes) {
        return admit(store, takes).stream().allMatch(BucketStore.State::granted);
    }

    /** The shared store, counting the admissions that reach it. */
    private static final class CountingStore implements BucketStore {
        final AtomicInteger admissions = new AtomicInteger();
        private final BucketStore store;

        CountingStore(BucketStore store) {
            this.store = store;
        }

        @Override
        public Mono<List<State>> admit(List<Take> takes, Duration window) {
            return Mono.defer(() -> {
                admissions.incrementAndGet();
                return store.admit(takes, window);
            });
        }

        @Override
        public Mono<Void> settle(List<Take> deltas, Duration window) {
            return store.settle(deltas, window);
        }

        @Override
        public void charge(List<Take> takes, Duration window) {
            store.charge(takes, window);
        }
    }
}
