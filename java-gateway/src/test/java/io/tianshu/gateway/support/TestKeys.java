package io.tianshu.gateway.support;

import io.tianshu.gateway.auth.KeyStore;
import io.tianshu.gateway.tenants.TenantStore;
import java.time.Instant;
import java.util.List;
import java.util.UUID;

/** Fresh tenants and keys per test, so tests sharing the one database never share a bucket. */
public final class TestKeys {

    private TestKeys() {
    }

    public static String tenant(TenantStore tenants, Integer rpm, Integer tpm, List<String> models) {
        return tenant(tenants, rpm, tpm, models, null);
    }

    public static String tenant(TenantStore tenants, Integer rpm, Integer tpm, List<String> models,
            Long ingestTokensPerDay) {
        String id = "t-" + UUID.randomUUID().toString().substring(0, 8);
        tenants.create(id, id, rpm, tpm, models, ingestTokensPerDay);
        return id;
    }

    public static KeyStore.Created key(KeyStore keys, String tenant, List<String> scopes, Integer rpm, Integer tpm,
            List<String> models, Instant expiresAt) {
        return keys.create(new KeyStore.NewKey(tenant, "test", scopes, models, rpm, tpm, expiresAt, "test"));
    }
}
