package io.tianshu.gateway.ratelimit;

import static org.assertj.core.api.Assertions.assertThat;

import io.tianshu.gateway.auth.Caller;
import io.tianshu.gateway.auth.KeyStore;
import io.tianshu.gateway.auth.Scope;
import io.tianshu.gateway.support.TestKeys;
import java.util.List;
import java.util.UUID;
import org.junit.jupiter.api.Test;
import org.springframework.beans.factory.annotation.Autowired;
import org.springframework.http.HttpHeaders;
import org.springframework.jdbc.core.JdbcTemplate;
import org.springframework.test.context.TestPropertySource;

/** Admission with the buckets in the gateway's memory. */
@TestPropertySource(properties = "tianshu.limits.store=memory")
class MemoryRateLimitTest extends RateLimitTest {

    @Autowired
    BucketStore buckets;
    @Autowired
    JdbcTemplate jdbc;

    @Override
    Double storedTokens(String bucket) {
        return ((MemoryBucketStore) buckets).tokens(bucket);
    }

    @Test
    void admissionTakesFromMemoryAndWritesNoBucketToTheDatabase() {
        String tenant = TestKeys.tenant(tenants, null, null, null);
        KeyStore.Created created = TestKeys.key(keys, tenant, ALL, 5, null, null, null);

        chatAs(created.plaintext()).expectStatus().isOk();

        assertThat(storedTokens("key:" + created.info().id() + ":requests")).isEqualTo(4.0);
        assertThat(jdbc.queryForObject("SELECT count(*) FROM rate_bucket WHERE id LIKE ?", Integer.class,
                "key:" + created.info().id() + "%")).isZero();
    }

    @Test
    void admissionRunsOnTheCallersThreadInsteadOfTheBlockingPool() {
        Caller caller = new Caller("memory-thread", UUID.randomUUID(), "test", Scope.all(),
                new Caller.Limits(10, null, null), Caller.Limits.NONE);
        Thread admittedOn = limiter.admit(caller, "chat.completions", "m", "r1", new Estimate(1, 1), new HttpHeaders())
                .map(admission -> Thread.currentThread()).block();
        assertThat(admittedOn).isSameAs(Thread.currentThread());
    }
}
