package io.tianshu.gateway.auth;

import java.util.List;
import java.util.Set;
import java.util.UUID;

/**
 * Who is calling, with everything admission needs, loaded once per request at authentication.
 *
 * @param tenant the tenant billed and limited
 * @param keyId the api key's id; null for JWT callers and when auth is off
 * @param subject "key:ID", "jwt:SUB" or "anonymous", for usage and audit rows
 * @param keyLimits limits of the key (api keys only)
 * @param tenantLimits limits of the tenant, from the tenant table
 */
public record Caller(String tenant, UUID keyId, String subject, Set<String> scopes, Limits keyLimits,
        Limits tenantLimits) {

    /**
     * Requests and tokens per minute, models allowed and, for a tenant, embedding tokens its
     * document uploads may use per day; each null means unlimited.
     */
    public record Limits(Integer rpm, Integer tpm, List<String> allowedModels, Long ingestTokensPerDay) {
        public static final Limits NONE = new Limits(null, null, null);

        /** A key's limits: an ingestion quota is the tenant's only. */
        public Limits(Integer rpm, Integer tpm, List<String> allowedModels) {
            this(rpm, tpm, allowedModels, null);
        }

        boolean allows(String model) {
            return allowedModels == null || allowedModels.contains(model);
        }
    }

    public static Caller anonymous() {
        return new Caller(TenantDirectory.DEFAULT_TENANT, null, "anonymous", Scope.all(), Limits.NONE, Limits.NONE);
    }

    public boolean hasScope(Scope scope) {
        return scopes.contains(scope.value());
    }

    /** Both the key and its tenant must allow the model. */
    public boolean mayUse(String model) {
        return keyLimits.allows(model) && tenantLimits.allows(model);
    }
}
