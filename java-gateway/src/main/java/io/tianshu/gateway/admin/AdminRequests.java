package io.tianshu.gateway.admin;

import com.fasterxml.jackson.databind.PropertyNamingStrategies;
import com.fasterxml.jackson.databind.annotation.JsonNaming;
import java.time.Instant;
import java.util.List;

/** Bodies of the admin routes. */
final class AdminRequests {

    private AdminRequests() {
    }

    @JsonNaming(PropertyNamingStrategies.SnakeCaseStrategy.class)
    record NewKey(String tenant, String name, List<String> scopes, List<String> allowedModels, Integer rpm,
            Integer tpm, Instant expiresAt) {
    }

    @JsonNaming(PropertyNamingStrategies.SnakeCaseStrategy.class)
    record NewTenant(String id, String name, Integer rpm, Integer tpm, List<String> allowedModels) {
    }
}
