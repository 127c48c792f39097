package io.tianshu.gateway.tenants;

import com.fasterxml.jackson.databind.PropertyNamingStrategies;
import com.fasterxml.jackson.databind.annotation.JsonNaming;
import io.tianshu.gateway.auth.Caller;
import java.time.Instant;
import java.util.List;

/**
 * A customer of the platform: what its keys share, limits included.
 *
 * @param ingestTokensPerDay embedding tokens its document uploads may use per day; null = unlimited
 */
@JsonNaming(PropertyNamingStrategies.SnakeCaseStrategy.class)
public record Tenant(String id, String name, Integer rpm, Integer tpm, List<String> allowedModels,
        Long ingestTokensPerDay, Instant createdAt) {

    public Caller.Limits limits() {
        return new Caller.Limits(rpm, tpm, allowedModels, ingestTokensPerDay);
    }
}
