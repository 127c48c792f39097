package io.tianshu.gateway.ratelimit;

import static org.assertj.core.api.Assertions.assertThat;

import io.tianshu.gateway.GatewayApplication;
import io.tianshu.gateway.support.InProcessInference;
import io.tianshu.gateway.support.TestKeys;
import java.util.List;
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

    @Autowired
    JdbcTemplate jdbc;
    @Autowired
    PlatformTransactionManager transactions;

    @Override
    Double storedTokens(String bucket) {
        return jdbc.queryForList("SELECT tokens FROM rate_bucket WHERE id = ?", Double.class, bucket).stream()
                .findFirst().orElse(null);
    }

    @Test
    void twoGatewaysSharingTheDatabaseAdmitExactlyCBetweenThem() {
        String tenant = TestKeys.tenant(tenants, 6, null, null);
        String key = TestKeys.key(keys, tenant, ALL, null, null, null, null).plaintext();
        try (ConfigurableApplicationContext second = new SpringApplicationBuilder(GatewayApplication.class,
                InProcessInference.class).properties("server.port=0").run()) {
            int secondPort = ((WebServerApplicationContext) second).getWebServer().getPort();

            List<Integer> statuses = fire(List.of(port, secondPort), key, 24);

            assertThat(statuses).filteredOn(s -> s == 200).hasSize(6);
            assertThat(statuses).filteredOn(s -> s == 429).hasSize(18);
        }
    }

    @Test
    void admissionsCommitWithoutWaitingForTheDisk() {
        String inAdmission = new TransactionTemplate(transactions).execute(status -> {
            // As a production server has it (the test server runs with it off for speed).
            jdbc.execute("SET LOCAL synchronous_commit = on");
            jdbc.query("SELECT * FROM rate_admit(ARRAY['test:sync-commit'], ARRAY[10.0::float8], ARRAY[1.0::float8], 60)",
                    rs -> { });
            return jdbc.queryForObject("SHOW synchronous_commit", String.class);
        });
        assertThat(inAdmission).isEqualTo("off");
    }
}
