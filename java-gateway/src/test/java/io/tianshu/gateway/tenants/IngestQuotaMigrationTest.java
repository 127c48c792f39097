package io.tianshu.gateway.tenants;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.tianshu.gateway.support.GatewayTest;
import java.util.UUID;
import org.junit.jupiter.api.Test;
import org.springframework.beans.factory.annotation.Autowired;
import org.springframework.dao.DataIntegrityViolationException;
import org.springframework.jdbc.core.JdbcTemplate;

/** V5__tenant_ingest_quota.sql: the tenant's ingestion quota column, as the database keeps it. */
class IngestQuotaMigrationTest extends GatewayTest {

    @Autowired
    JdbcTemplate jdbc;
    @Autowired
    TenantStore tenants;

    @Test
    void aTenantWrittenWithoutTheColumnIsUnlimitedAndAQuotaBeyondAnIntIsKept() {
        // What a gateway of the release before writes during a rolling upgrade.
        String before = "mig-" + UUID.randomUUID().toString().substring(0, 8);
        jdbc.update("INSERT INTO tenant (id, name, rpm, tpm) VALUES (?, ?, 10, 20)", before, before);
        assertThat(tenants.find(before).orElseThrow().limits().ingestTokensPerDay()).isNull();

        String large = "mig-" + UUID.randomUUID().toString().substring(0, 8);
        tenants.create(large, large, null, null, null, 5_000_000_000L);
        assertThat(tenants.find(large).orElseThrow().ingestTokensPerDay()).isEqualTo(5_000_000_000L);
    }

    @Test
    void theDatabaseRefusesAQuotaBelowOne() {
        String id = "mig-" + UUID.randomUUID().toString().substring(0, 8);
        assertThatThrownBy(() -> tenants.create(id, id, null, null, null, 0L))
                .isInstanceOf(DataIntegrityViolationException.class);
        assertThat(tenants.find(id)).isEmpty();
    }
}
