package io.tianshu.gateway.batches;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

import io.grpc.Status;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import io.tianshu.gateway.config.TianshuProperties;
import io.tianshu.gateway.ratelimit.Limiter;
import io.tianshu.gateway.support.TestKeys;
import io.tianshu.gateway.usage.UsageStore;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.springframework.beans.factory.annotation.Autowired;
import org.springframework.jdbc.core.JdbcTemplate;
import org.springframework.test.web.reactive.server.WebTestClient;
import org.springframework.transaction.PlatformTransactionManager;

class BatchUsageChargerTest extends BatchGatewayTest {

    @Autowired
    BatchUsageCharger charger;
    @Autowired
    UsageCursor cursor;
    @Autowired
    JobsClient client;
    @Autowired
    Limiter limiter;
    @Autowired
    UsageStore usage;
    @Autowired
    PlatformTransactionManager transactions;
    @Autowired
    TianshuProperties properties;
    @Autowired
    JdbcTemplate jdbc;

    @BeforeEach
    void emptyLedger() {
        jobs.resetLedger(cursor.current());
    }

    @AfterEach
    void answerUsageAgain() {
        jobs.usageFailure = null;
        jobs.usageEntered = null;
    }

    @Test
    void secondInstanceSkipsWhileTheFirstHoldsTheCursor() throws Exception {
        String tenant = TestKeys.tenant(tenants, null, 1000, null);
        jobs.addUsage(tenant, "batch_held", "a", 10, 5);
        jobs.usageEntered = new CountDownLatch(1);
        jobs.releaseUsage = new CountDownLatch(1);
        ExecutorService pool = Executors.newSingleThreadExecutor();
        try {
            Future<Integer> first = pool.submit(charger::chargePage);
            assertThat(jobs.usageEntered.await(1, TimeUnit.MINUTES)).isTrue();
            // The first holds the cursor's row lock inside its transaction, reading the ledger.
            assertThat(secondInstance(500).chargePage()).isEqualTo(-1);
            jobs.releaseUsage.countDown();
            assertThat(first.get(1, TimeUnit.MINUTES)).isEqualTo(1);
        } finally {
            pool.shutdownNow();
        }
        jobs.usageEntered = null;
        assertThat(secondInstance(500).chargePage()).isZero();
        assertThat(batchTokens(tenant)).isEqualTo(15);
    }

    @Test
    void twoInstancesRacingChargeEveryRecordExactlyOnce() throws Exception {
        String tenant = TestKeys.tenant(tenants, null, 1000, null);
        String other = TestKeys.tenant(tenants, null, null, null);
        for (int i = 0; i < 40; i++) {
            jobs.addUsage(i % 4 == 0 ? other : tenant, "batch_race", "line-" + i, 10, 5);
        }
        List<BatchUsageCharger> instances = List.of(secondInstance(3), secondInstance(3));
        ExecutorService pool = Executors.newFixedThreadPool(2);
        CountDownLatch start = new CountDownLatch(1);
        try {
            List<Future<Integer>> runs = new ArrayList<>();
            for (BatchUsageCharger instance : instances) {
                runs.add(pool.submit(() -> {
                    start.await();
                    int charged = 0;
                    // Until this instance sees the ledger caught up (0); -1 means the other held the cursor.
                    for (int page; (page = instance.chargePage()) != 0; ) {
                        charged += Math.max(0, page);
                    }
                    return charged;
                }));
            }
            start.countDown();
            assertThat(runs.get(0).get(1, TimeUnit.MINUTES) + runs.get(1).get(1, TimeUnit.MINUTES)).isEqualTo(40);
        } finally {
            pool.shutdownNow();
        }
        assertThat(cursor.current()).isEqualTo(jobs.lastSequence());
        assertThat(batchRows(tenant)).isEqualTo(30);
        assertThat(batchTokens(tenant)).isEqualTo(30 * 15);
        assertThat(batchTokens(other)).isEqualTo(10 * 15);
        // Taken from the tenant's tokens-per-minute bucket, exactly once per record.
        assertThat(bucketLevel(tenant)).isCloseTo(1000 - 30 * 15, within(0.5));
    }

    @Test
    void chargedTenantWaitsBeforeItsNextInteractiveCall() throws Exception {
        String tenant = TestKeys.tenant(tenants, null, 100, null);
        String key = TestKeys.key(keys, tenant, List.of("chat"), null, null, null, null).plaintext();
        // Reserves 5 + 10 tokens of 100, settles to the 8 it used.
        smallChat(key).expectStatus().isOk();
        awaitSettled(tenant, 1);

        jobs.addUsage(tenant, "batch_big", "a", 120, 30);
        assertThat(charger.round().block(Duration.ofMinutes(1))).isEqualTo(1);
        assertThat(bucketLevel(tenant)).isCloseTo(100 - 8 - 150, within(0.5));
        smallChat(key).expectStatus().isEqualTo(429)
                .expectHeader().exists("Retry-After")
                .expectBody().jsonPath("$.error.code").isEqualTo("rate_limit_exceeded");
    }

    private org.springframework.test.web.reactive.server.WebTestClient.ResponseSpec smallChat(String key) {
        return web.post().uri("/v1/chat/completions")
                .header(org.springframework.http.HttpHeaders.AUTHORIZATION, "Bearer " + key)
                .contentType(org.springframework.http.MediaType.APPLICATION_JSON)
                .bodyValue(chat("Hi", "\"max_tokens\": 10")).exchange();
    }

    @Test
    void ledgerNotServedYetIsRetriedLaterWithoutLosingRecords() {
        String tenant = newTenant();
        jobs.addUsage(tenant, "batch_later", "a", 10, 5);
        jobs.usageFailure = Status.UNIMPLEMENTED.withDescription("Method not found!");
        long before = cursor.current();
        assertThat(charger.round().block(Duration.ofMinutes(1))).isZero();
        assertThat(cursor.current()).isEqualTo(before);
        assertThat(batchRows(tenant)).isZero();

        jobs.usageFailure = null;
        assertThat(charger.round().block(Duration.ofMinutes(1))).isEqualTo(1);
        assertThat(batchRows(tenant)).isEqualTo(1);
    }

    @Test
    void failingLedgerNeverRefusesCallersThroughTheBreaker() {
        WebTestClient owner = as(newTenant(), "batch");
        jobs.usageFailure = Status.INTERNAL.withDescription("internal error; see the service log");
        // More failures than the breaker's window: were they counted, it would be open now.
        for (int i = 0; i < 2 * properties.batch().breaker().window(); i++) {
            assertThat(charger.round().block(Duration.ofMinutes(1))).isZero();
        }
        owner.get().uri("/v1/batches").exchange().expectStatus().isOk();
    }

    @Test
    void adminUsageShowsTheTenantsBatchTokens() {
        String tenant = newTenant();
        jobs.addUsage(tenant, "batch_admin", "a", 10, 5);
        jobs.addUsage(tenant, "batch_admin", "b", 20, 7);
        charger.round().block(Duration.ofMinutes(1));
        web.get().uri("/v1/admin/usage?tenant=" + tenant).exchange().expectStatus().isOk().expectBody()
                .jsonPath("$.data.length()").isEqualTo(1)
                .jsonPath("$.data[0].endpoint").isEqualTo("/v1/batches")
                .jsonPath("$.data[0].key_id").isEmpty()
                .jsonPath("$.data[0].model").isEqualTo("tiny-chat")
                .jsonPath("$.data[0].requests").isEqualTo(2)
                .jsonPath("$.data[0].prompt_tokens").isEqualTo(30)
                .jsonPath("$.data[0].completion_tokens").isEqualTo(12)
                .jsonPath("$.data[0].total_tokens").isEqualTo(42);
    }

    /** Another gateway instance on the same database: its own charger, with this page size. */
    private BatchUsageCharger secondInstance(int pageSize) {
        TianshuProperties.Batch batch = properties.batch();
        TianshuProperties.Batch paged = new TianshuProperties.Batch(batch.target(), batch.deadline(),
                batch.createDeadline(), batch.healthDeadline(), batch.maxMessageBytes(), batch.breaker(),
                new TianshuProperties.Charge(batch.charge().interval(), pageSize));
        TianshuProperties settings = new TianshuProperties(properties.inference(), properties.auth(),
                properties.dynamic(), properties.http(), properties.rag(), paged, properties.files(),
                properties.limits(), properties.console());
        return new BatchUsageCharger(client, cursor, limiter, usage, tenants, transactions, settings,
                new SimpleMeterRegistry());
    }

    private long batchRows(String tenant) {
        return jdbc.queryForObject("SELECT count(*) FROM usage_record WHERE tenant_id = ? AND endpoint = ?",
                Long.class, tenant, BatchUsageCharger.ENDPOINT);
    }

    private long batchTokens(String tenant) {
        return jdbc.queryForObject("SELECT coalesce(sum(prompt_tokens + completion_tokens), 0) FROM usage_record "
                + "WHERE tenant_id = ? AND endpoint = ?", Long.class, tenant, BatchUsageCharger.ENDPOINT);
    }

    private double bucketLevel(String tenant) {
        return jdbc.queryForObject("SELECT tokens FROM rate_bucket WHERE id = ?", Double.class,
                "tenant:" + tenant + ":tokens");
    }
}
