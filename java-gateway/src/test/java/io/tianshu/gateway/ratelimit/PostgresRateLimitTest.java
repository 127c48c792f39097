package io.tianshu.gateway.ratelimit;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

import io.tianshu.gateway.GatewayApplication;
import io.tianshu.gateway.auth.KeyStore;
import io.tianshu.gateway.support.InProcessInference;
import io.tianshu.gateway.support.TestKeys;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.function.BooleanSupplier;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Test;
import org.springframework.beans.factory.annotation.Autowired;
import org.springframework.boot.builder.SpringApplicationBuilder;
import org.springframework.boot.web.context.WebServerApplicationContext;
import org.springframework.context.ConfigurableApplicationContext;
import org.springframework.jdbc.core.JdbcTemplate;
import org.springframework.transaction.PlatformTransactionManager;
import org.springframework.transaction.support.TransactionTemplate;

/** Admission with the buckets in PostgreSQL (the default store), including what only a shared store can do. */
class PostgresRateLimitTest extends RateLimitTest {

    private static final Duration MINUTE = Duration.ofMinutes(1);

    @Autowired
    JdbcTemplate jdbc;
    @Autowired
    PlatformTransactionManager transactions;
    @Autowired
    BucketStore buckets;

    @Override
    Double storedTokens(String bucket) {
        return jdbc.queryForList("SELECT tokens FROM rate_bucket WHERE id = ?", Double.class, bucket).stream()
                .findFirst().orElse(null);
    }

    /** The PostgreSQL store itself, under the leases busy buckets are admitted from. */
    private PostgresBucketStore postgresStore() {
        return (PostgresBucketStore) (buckets instanceof LeasingBucketStore leasing ? leasing.shared() : buckets);
    }

    /** Another gateway on the same database, started by the first test that needs it. */
    private static ConfigurableApplicationContext secondGateway;

    private static int secondGatewayPort() {
        if (secondGateway == null) {
            secondGateway = new SpringApplicationBuilder(GatewayApplication.class, InProcessInference.class)
                    .properties("server.port=0").run();
        }
        return ((WebServerApplicationContext) secondGateway).getWebServer().getPort();
    }

    @AfterAll
    static void stopSecondGateway() {
        if (secondGateway != null) {
            secondGateway.close();
        }
    }

    /**
     * A tenant allowed 100,000 calls and 10 million tokens a minute: the first call also takes
     * a slice of each bucket for this gateway (2 %), the calls after it are admitted from the
     * slices with no statement of their own.
     */
    @Test
    void callsOnBusyBucketsAreAdmittedFromThisGatewaysSliceWithoutAStatementEach() {
        String tenant = TestKeys.tenant(tenants, 100_000, 10_000_000, null);
        String key = TestKeys.key(keys, tenant, ALL, null, null, null, null).plaintext();
        long before = postgresStore().statements();

        for (int i = 0; i < 5; i++) {
            assertThat(fire(List.of(port), key, 1)).containsExactly(200);
        }

        assertThat(postgresStore().statements() - before).as("one admission statement for five calls").isEqualTo(1);
        assertThat(storedTokens("tenant:" + tenant + ":requests")).as("the first call and the slice")
                .isCloseTo(100_000 - 1 - 2_000.0, within(1.0));
    }

    @Test
    void twoGatewaysSharingTheDatabaseAdmitExactlyCBetweenThem() {
        String tenant = TestKeys.tenant(tenants, 6, null, null);
        String key = TestKeys.key(keys, tenant, ALL, null, null, null, null).plaintext();

        List<Integer> statuses = fire(List.of(port, secondGatewayPort()), key, 24);

        assertThat(statuses).filteredOn(s -> s == 200).hasSize(6);
        assertThat(statuses).filteredOn(s -> s == 429).hasSize(18);
    }

    /** As the one-gateway case: 40 tokens per minute, calls that reserve and use 8 each. */
    @Test
    void twoGatewaysSharingTheDatabaseAdmitExactlyWhatFitsATokenLimitBetweenThem() throws Exception {
        String tenant = TestKeys.tenant(tenants, 1000, 40, null);
        KeyStore.Created created = TestKeys.key(keys, tenant, ALL, 1000, null, null, null);

        List<Answer> answers = burst(List.of(port, secondGatewayPort()), created.plaintext(), 24,
                "\"max_tokens\": 3");

        assertTokenLimitAdmittedFive(answers, tenant, created);
    }

    @Test
    void admissionsCommitWithoutWaitingForTheDisk() {
        String inAdmission = new TransactionTemplate(transactions).execute(status -> {
            // As a production server has it (the test server runs with it off for speed).
            jdbc.execute("SET LOCAL synchronous_commit = on");
            jdbc.query("SELECT * FROM rate_admit_many(ARRAY[0], ARRAY['test:sync-commit'], ARRAY[10.0::float8], "
                    + "ARRAY[1.0::float8], 60)", rs -> { });
            return jdbc.queryForObject("SHOW synchronous_commit", String.class);
        });
        assertThat(inAdmission).isEqualTo("off");
    }

    @Test
    void callsArrivingWhileAnAdmissionWaitsForItsLocksGoTogetherInTheNextStatementInOrder() throws Exception {
        PostgresBucketStore postgres = postgresStore();
        String shared = "test:burst:" + UUID.randomUUID();
        postgres.admit(List.of(new BucketStore.Take(shared, 5, 0)), MINUTE).block();  // the row, full
        try (RowLock lock = new RowLock(shared)) {
            long before = postgres.statements();
            List<CompletableFuture<List<BucketStore.State>>> outcomes = new ArrayList<>();
            outcomes.add(postgres.admit(List.of(new BucketStore.Take(shared, 5, 1)), MINUTE).toFuture());
            waitFor(() -> postgres.statements() == before + 1 && postgres.waiting() == 0);
            // Each of these also takes from a bucket of its own: a refused call must leave it alone.
            for (int i = 1; i <= 9; i++) {
                outcomes.add(postgres.admit(List.of(new BucketStore.Take(shared, 5, 1),
                        new BucketStore.Take(shared + ":own:" + i, 10, 1)), MINUTE).toFuture());
            }
            waitFor(() -> postgres.waiting() == 9);
            assertThat(outcomes).noneMatch(CompletableFuture::isDone);  // all behind the lock
            lock.release();

            List<Boolean> granted = new ArrayList<>();
            for (CompletableFuture<List<BucketStore.State>> outcome : outcomes) {
                granted.add(outcome.get(30, TimeUnit.SECONDS).stream().allMatch(BucketStore.State::granted));
            }
            // The first statement, then one for the other nine, taken in the order they came.
            assertThat(postgres.statements()).isEqualTo(before + 2);
            assertThat(granted).containsExactly(true, true, true, true, true, false, false, false, false, false);
            for (int i = 1; i <= 9; i++) {
                assertThat(storedTokens(shared + ":own:" + i)).isEqualTo(i <= 4 ? 9.0 : 10.0);
            }
            assertThat(storedTokens(shared)).isLessThan(1.0);
        }
    }

    @Test
    void aCallWhoseCallerLeftWhileItWaitedIsNeverSentAndTakesNothing() throws Exception {
        PostgresBucketStore postgres = postgresStore();
        String shared = "test:left:" + UUID.randomUUID();
        postgres.admit(List.of(new BucketStore.Take(shared, 5, 0)), MINUTE).block();
        try (RowLock lock = new RowLock(shared)) {
            long before = postgres.statements();
            CompletableFuture<List<BucketStore.State>> first =
                    postgres.admit(List.of(new BucketStore.Take(shared, 5, 1)), MINUTE).toFuture();
            waitFor(() -> postgres.statements() == before + 1 && postgres.waiting() == 0);
            String own = shared + ":own";
            postgres.admit(List.of(new BucketStore.Take(shared, 5, 1), new BucketStore.Take(own, 10, 1)), MINUTE)
                    .subscribe().dispose();  // the client disconnected while its admission waited
            waitFor(() -> postgres.waiting() == 1);
            lock.release();

            assertThat(first.get(30, TimeUnit.SECONDS)).allMatch(BucketStore.State::granted);
            waitFor(() -> postgres.waiting() == 0);
            assertThat(postgres.statements()).isEqualTo(before + 1);
            assertThat(storedTokens(own)).isNull();
            assertThat(storedTokens(shared)).isCloseTo(4.0, within(0.5));
        }
    }

    @Test
    void concurrentAdmissionsSharingABucketGrantExactlyItsCapacityAndNeverHalfAnAdmission() throws Exception {
        String shared = "test:shared:" + UUID.randomUUID();
        int threads = 6;
        int attempts = 30;
        ExecutorService pool = Executors.newFixedThreadPool(threads);
        try {
            List<Future<Integer>> granted = new ArrayList<>();
            for (int t = 0; t < threads; t++) {
                String own = shared + ":own:" + t;
                granted.add(pool.submit(() -> {
                    int n = 0;
                    for (int i = 0; i < attempts; i++) {
                        List<BucketStore.State> states = buckets.admit(List.of(new BucketStore.Take(shared, 100, 1),
                                new BucketStore.Take(own, 1000, 1)), Duration.ofDays(365)).block();
                        n += states.stream().allMatch(BucketStore.State::granted) ? 1 : 0;
                    }
                    return n;
                }));
            }
            int total = 0;
            for (int t = 0; t < threads; t++) {
                int n = granted.get(t).get(60, TimeUnit.SECONDS);
                assertThat(storedTokens(shared + ":own:" + t)).isCloseTo(1000.0 - n, within(0.01));
                total += n;
            }
            assertThat(total).isEqualTo(100);
        } finally {
            pool.shutdownNow();
        }
    }

    /** A transaction of another thread holding a bucket's row lock until released. */
    private final class RowLock implements AutoCloseable {

        private final CountDownLatch release = new CountDownLatch(1);
        private final Thread holder;

        RowLock(String bucket) throws InterruptedException {
            CountDownLatch locked = new CountDownLatch(1);
            holder = new Thread(() -> new TransactionTemplate(transactions).executeWithoutResult(status -> {
                jdbc.query("SELECT 1 FROM rate_bucket WHERE id = ? FOR UPDATE", rs -> { }, bucket);
                locked.countDown();
                awaitQuietly(release);
            }));
            holder.start();
            assertThat(locked.await(10, TimeUnit.SECONDS)).isTrue();
        }

        void release() {
            release.countDown();
        }

        @Override
        public void close() throws InterruptedException {
            release();
            holder.join();
        }
    }

    private static void waitFor(BooleanSupplier condition) throws InterruptedException {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
        while (!condition.getAsBoolean()) {
            assertThat(System.nanoTime()).as("condition not met within 10 s").isLessThan(deadline);
            Thread.sleep(5);
        }
    }

    private static void awaitQuietly(CountDownLatch latch) {
        try {
            latch.await(30, TimeUnit.SECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}
