package io.tianshu.gateway.admin;

import static io.swagger.v3.oas.annotations.media.Schema.RequiredMode.REQUIRED;

import com.fasterxml.jackson.databind.PropertyNamingStrategies;
import com.fasterxml.jackson.databind.annotation.JsonNaming;
import io.swagger.v3.oas.annotations.media.ArraySchema;
import io.swagger.v3.oas.annotations.media.Schema;
import java.time.Instant;
import java.util.List;

/** Bodies of the admin routes. */
final class AdminRequests {

    private AdminRequests() {
    }

    // What a tenant id may be: it appears in metrics labels and log fields.
    static final String TENANT_ID = "^[a-z0-9][a-z0-9_-]{0,62}$";

    private static final String INGEST_QUOTA = "Ingestion quota: embedding tokens the tenant's document uploads "
            + "may use per day, refilling continuously over 24 hours";

    @JsonNaming(PropertyNamingStrategies.SnakeCaseStrategy.class)
    record NewKey(
            @Schema(requiredMode = REQUIRED, minLength = 1, description = "An existing tenant") String tenant,
            String name,
            @ArraySchema(minItems = 1, arraySchema = @Schema(requiredMode = REQUIRED), schema = @Schema(
                    allowableValues = {"chat", "embeddings", "rag:read", "rag:write", "batch", "admin"}))
            List<String> scopes,
            @ArraySchema(schema = @Schema(minLength = 1), arraySchema = @Schema(description = "Models (ids or "
                    + "aliases) the key may use; absent = any the tenant allows"))
            List<String> allowedModels,
            @Schema(minimum = "1", description = "Requests per minute; absent = no limit of the key's own")
            Integer rpm,
            @Schema(minimum = "1", description = "Tokens per minute; absent = no limit of the key's own")
            Integer tpm,
            Instant expiresAt) {
    }

    @JsonNaming(PropertyNamingStrategies.SnakeCaseStrategy.class)
    record NewTenant(
            @Schema(requiredMode = REQUIRED, pattern = TENANT_ID) String id,
            String name,
            @Schema(minimum = "1") Integer rpm,
            @Schema(minimum = "1") Integer tpm,
            @ArraySchema(schema = @Schema(minLength = 1), arraySchema = @Schema(description = "Models (ids or "
                    + "aliases) the tenant may use; absent = all"))
            List<String> allowedModels,
            @Schema(minimum = "1", description = INGEST_QUOTA + "; absent = unlimited")
            Long ingestTokensPerDay) {
    }

    /**
     * {@code PATCH /v1/admin/tenants/{id}}, for the OpenAPI document: the route reads a JSON
     * object, because a field sent as null (clear the limit) differs from one left out (keep it).
     */
    @JsonNaming(PropertyNamingStrategies.SnakeCaseStrategy.class)
    record LimitsPatch(
            @Schema(minimum = "1", nullable = true, description = "null clears the limit; absent keeps it")
            Integer rpm,
            @Schema(minimum = "1", nullable = true, description = "null clears the limit; absent keeps it")
            Integer tpm,
            @ArraySchema(schema = @Schema(minLength = 1), arraySchema = @Schema(nullable = true,
                    description = "null allows every model; absent keeps the list"))
            List<String> allowedModels,
            @Schema(minimum = "1", nullable = true, description = INGEST_QUOTA + "; null clears it, absent keeps it")
            Long ingestTokensPerDay) {
    }
}
