package io.tianshu.gateway.admin;

import static io.tianshu.gateway.error.ApiException.invalidRequest;

import com.fasterxml.jackson.annotation.JsonUnwrapped;
import com.fasterxml.jackson.databind.JsonNode;
import io.swagger.v3.oas.annotations.Operation;
import io.swagger.v3.oas.annotations.Parameter;
import io.swagger.v3.oas.annotations.media.Content;
import io.swagger.v3.oas.annotations.media.Schema;
import io.swagger.v3.oas.annotations.tags.Tag;
import io.tianshu.gateway.auth.ApiKeyCache;
import io.tianshu.gateway.auth.Caller;
import io.tianshu.gateway.auth.Callers;
import io.tianshu.gateway.auth.KeyStore;
import io.tianshu.gateway.auth.Scope;
import io.tianshu.gateway.db.Blocking;
import io.tianshu.gateway.error.ApiException;
import io.tianshu.gateway.requestid.RequestId;
import io.tianshu.gateway.tenants.Tenant;
import io.tianshu.gateway.tenants.TenantStore;
import io.tianshu.gateway.usage.AuditLog;
import io.tianshu.gateway.usage.UsageStore;
import java.time.Duration;
import java.time.Instant;
import java.time.format.DateTimeParseException;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.regex.Pattern;
import org.springframework.http.HttpStatus;
import org.springframework.http.MediaType;
import org.springframework.web.bind.annotation.DeleteMapping;
import org.springframework.web.bind.annotation.GetMapping;
import org.springframework.web.bind.annotation.PatchMapping;
import org.springframework.web.bind.annotation.PathVariable;
import org.springframework.web.bind.annotation.PostMapping;
import org.springframework.web.bind.annotation.RequestBody;
import org.springframework.web.bind.annotation.RequestMapping;
import org.springframework.web.bind.annotation.RequestParam;
import org.springframework.web.bind.annotation.ResponseStatus;
import org.springframework.web.bind.annotation.RestController;
import org.springframework.web.server.ServerWebExchange;
import reactor.core.publisher.Mono;

/**
 * {@code /v1/admin/**}, admin scope only (AuthConfig): api keys, tenants and their limits,
 * usage, and the audit trail every change here is written to.
 */
@RestController
@RequestMapping("/v1/admin")
@Tag(name = "Admin", description = "API keys, tenants and their limits, usage and the audit trail (scope admin)")
class AdminController {

    private static final Pattern TENANT_ID = Pattern.compile(AdminRequests.TENANT_ID);

    private final KeyStore keys;
    private final ApiKeyCache keyCache;
    private final TenantStore tenants;
    private final UsageStore usage;
    private final AuditLog audit;

    AdminController(KeyStore keys, ApiKeyCache keyCache, TenantStore tenants, UsageStore usage, AuditLog audit) {
        this.keys = keys;
        this.keyCache = keyCache;
        this.tenants = tenants;
        this.usage = usage;
        this.audit = audit;
    }

    /** The new key: shown once, here, and never again. */
    record CreatedKey(String key, @JsonUnwrapped KeyStore.KeyInfo info) {
    }

    record Listing<T>(String object, List<T> data) {
        static <T> Listing<T> of(List<T> data) {
            return new Listing<>("list", data);
        }
    }

    @PostMapping("/keys")
    @Operation(summary = "Create an API key; its secret is in this answer only")
    @ResponseStatus(HttpStatus.CREATED)
    Mono<CreatedKey> createKey(@RequestBody AdminRequests.NewKey body, ServerWebExchange exchange) {
        if (body.tenant() == null || body.tenant().isBlank()) {
            throw invalidRequest("Missing required parameter: 'tenant'.", "tenant");
        }
        if (body.scopes() == null || body.scopes().isEmpty()) {
            throw invalidRequest("Missing required parameter: 'scopes'.", "scopes");
        }
        List<String> scopes;
        try {
            scopes = Scope.validate(body.scopes());
        } catch (IllegalArgumentException e) {
            throw invalidRequest(e.getMessage(), "scopes");
        }
        positive(body.rpm(), "rpm");
        positive(body.tpm(), "tpm");
        modelIds(body.allowedModels());
        return Callers.current().flatMap(admin -> Blocking.call(() -> {
            if (tenants.find(body.tenant()).isEmpty()) {
                throw ApiException.notFound("No tenant '" + body.tenant() + "'; create it first.");
            }
            KeyStore.Created created = keys.create(new KeyStore.NewKey(body.tenant(), body.name(), scopes,
                    body.allowedModels(), body.rpm(), body.tpm(), body.expiresAt(), admin.subject()));
            audit(admin, "key.create", created.info().id().toString(), created.info(), exchange);
            return new CreatedKey(created.plaintext(), created.info());
        }));
    }

    @GetMapping("/keys")
    @Operation(summary = "API keys, of one tenant or all")
    Mono<Listing<KeyStore.KeyInfo>> listKeys(@RequestParam(required = false) String tenant) {
        return Blocking.call(() -> Listing.of(keys.list(tenant)));
    }

    @DeleteMapping("/keys/{id}")
    @Operation(summary = "Revoke an API key")
    Mono<KeyStore.KeyInfo> revokeKey(@PathVariable String id, ServerWebExchange exchange) {
        UUID keyId = uuid(id);
        return Callers.current().flatMap(admin -> Blocking.call(() -> {
            KeyStore.KeyInfo before = keys.find(keyId).orElseThrow(() -> ApiException.notFound("No key " + id + "."));
            keys.revoke(keyId);
            keyCache.forgetAll();
            audit(admin, "key.revoke", id, Map.of("prefix", before.prefix(), "tenant", before.tenant()), exchange);
            return keys.find(keyId).orElseThrow();
        }));
    }

    @PostMapping("/tenants")
    @Operation(summary = "Create a tenant")
    @ResponseStatus(HttpStatus.CREATED)
    Mono<Tenant> createTenant(@RequestBody AdminRequests.NewTenant body, ServerWebExchange exchange) {
        if (body.id() == null || !TENANT_ID.matcher(body.id()).matches()) {
            throw invalidRequest("'id' must match " + TENANT_ID.pattern() + ".", "id");
        }
        positive(body.rpm(), "rpm");
        positive(body.tpm(), "tpm");
        positive(body.ingestTokensPerDay(), "ingest_tokens_per_day");
        modelIds(body.allowedModels());
        return Callers.current().flatMap(admin -> Blocking.call(() -> {
            if (!tenants.create(body.id(), body.name(), body.rpm(), body.tpm(), body.allowedModels(),
                    body.ingestTokensPerDay())) {
                throw new ApiException(HttpStatus.CONFLICT, "invalid_request_error",
                        "Tenant '" + body.id() + "' already exists.", "id", "conflict");
            }
            Tenant tenant = tenants.find(body.id()).orElseThrow();
            audit(admin, "tenant.create", body.id(), tenant, exchange);
            return tenant;
        }));
    }

    @GetMapping("/tenants")
    @Operation(summary = "Every tenant")
    Mono<Listing<Tenant>> listTenants() {
        return Blocking.call(() -> Listing.of(tenants.list()));
    }

    @PatchMapping("/tenants/{id}")
    @Operation(summary = "Change a tenant's limits: the fields sent, null clearing one",
            requestBody = @io.swagger.v3.oas.annotations.parameters.RequestBody(required = true, content = @Content(
                    mediaType = MediaType.APPLICATION_JSON_VALUE,
                    schema = @Schema(implementation = AdminRequests.LimitsPatch.class))))
    Mono<Tenant> patchTenant(@PathVariable String id, @RequestBody JsonNode body, ServerWebExchange exchange) {
        if (!body.isObject()) {
            throw invalidRequest("The request body must be a JSON object.", null);
        }
        TenantStore.LimitsPatch patch = new TenantStore.LimitsPatch(
                body.has("rpm"), limit(body, "rpm"), body.has("tpm"), limit(body, "tpm"),
                body.has("allowed_models"), models(body),
                body.has("ingest_tokens_per_day"), longLimit(body, "ingest_tokens_per_day"));
        return Callers.current().flatMap(admin -> Blocking.call(() -> {
            Tenant tenant = tenants.updateLimits(id, patch)
                    .orElseThrow(() -> ApiException.notFound("No tenant '" + id + "'."));
            keyCache.forgetAll();
            audit(admin, "tenant.update_limits", id, body, exchange);
            return tenant;
        }));
    }

    @GetMapping("/usage")
    @Operation(summary = "Usage summed per tenant, key, endpoint and model")
    Mono<Listing<UsageStore.Summary>> usage(@RequestParam(required = false) String tenant,
            @Parameter(schema = @Schema(format = "uuid"), description = "a key's id")
            @RequestParam(required = false) String key) {
        UUID keyId = key == null ? null : uuid(key);
        return Blocking.call(() -> Listing.of(usage.summarize(tenant, keyId)));
    }

    @GetMapping("/usage/series")
    @Operation(summary = "Usage over time: totals per hour or day (UTC), tenant and key, oldest first")
    Mono<Listing<UsageStore.Point>> usageSeries(@RequestParam(required = false) String tenant,
            @Parameter(schema = @Schema(format = "uuid"), description = "a key's id")
            @RequestParam(required = false) String key,
            @Parameter(schema = @Schema(allowableValues = {"hour", "day"}, defaultValue = "day"))
            @RequestParam(defaultValue = "day") String interval,
            @Parameter(description = "how many days back", schema = @Schema(types = "integer", format = "int32",
                    minimum = "1", maximum = "366", defaultValue = "14"))
            @RequestParam(defaultValue = "14") int days) {
        UUID keyId = key == null ? null : uuid(key);
        UsageStore.Interval period = switch (interval) {
            case "hour" -> UsageStore.Interval.HOUR;
            case "day" -> UsageStore.Interval.DAY;
            default -> throw invalidRequest("'interval' must be 'hour' or 'day'.", "interval");
        };
        if (days < 1 || days > 366) {
            throw invalidRequest("'days' must be between 1 and 366.", "days");
        }
        Instant since = Instant.now().minus(Duration.ofDays(days));
        return Blocking.call(() -> Listing.of(usage.series(tenant, keyId, period, since)));
    }

    @GetMapping("/audit")
    @Operation(summary = "Admin changes, newest first", description = "Filtered by action (exact), text (a "
            + "piece of the actor, the actor's tenant, the target or the request id, any case), since and until "
            + "(ISO-8601 instants, until exclusive); before_id pages on: the last id of the previous page.")
    Mono<Listing<AuditLog.Event>> audit(
            @Parameter(schema = @Schema(types = "integer", format = "int32", minimum = "1",
                    maximum = "1000", defaultValue = "100"))
            @RequestParam(defaultValue = "100") int limit,
            @RequestParam(required = false) String action, @RequestParam(required = false) String text,
            @RequestParam(required = false) String since, @RequestParam(required = false) String until,
            @RequestParam(name = "before_id", required = false) Long beforeId) {
        if (limit < 1 || limit > 1000) {
            throw invalidRequest("'limit' must be between 1 and 1000.", "limit");
        }
        AuditLog.Filter filter = new AuditLog.Filter(blankAsNull(action), blankAsNull(text), instant(since, "since"),
                instant(until, "until"), beforeId);
        return Blocking.call(() -> Listing.of(audit.find(filter, limit)));
    }

    private static String blankAsNull(String value) {
        return value == null || value.isBlank() ? null : value.strip();
    }

    private static Instant instant(String value, String param) {
        if (value == null || value.isBlank()) {
            return null;
        }
        try {
            return Instant.parse(value.strip());
        } catch (DateTimeParseException e) {
            throw invalidRequest("'" + param + "' must be an ISO-8601 instant such as 2026-12-06T00:00:00Z, not '"
                    + value + "'.", param);
        }
    }

    private void audit(Caller admin, String action, String target, Object detail, ServerWebExchange exchange) {
        audit.record(admin.subject(), admin.tenant(), action, target, detail, RequestId.of(exchange));
    }

    private static Integer limit(JsonNode body, String field) {
        JsonNode value = body.get(field);
        if (value == null || value.isNull()) {
            return null;
        }
        if (!value.isInt() || value.asInt() < 1) {
            throw invalidRequest("'" + field + "' must be a positive integer or null.", field);
        }
        return value.asInt();
    }

    /** As {@link #limit}, for a limit that may exceed an int (tokens per day). */
    private static Long longLimit(JsonNode body, String field) {
        JsonNode value = body.get(field);
        if (value == null || value.isNull()) {
            return null;
        }
        if (!(value.isInt() || value.isLong()) || value.asLong() < 1) {
            throw invalidRequest("'" + field + "' must be a positive integer or null.", field);
        }
        return value.asLong();
    }

    private static List<String> models(JsonNode body) {
        JsonNode value = body.get("allowed_models");
        if (value == null || value.isNull()) {
            return null;
        }
        if (!value.isArray()) {
            throw invalidRequest("'allowed_models' must be an array of model ids or null.", "allowed_models");
        }
        List<String> models = new ArrayList<>();
        value.forEach(v -> models.add(v.isTextual() ? v.asText() : null));
        return modelIds(models);
    }

    /**
     * An allow-list holds model ids: a null or blank item matches no model, and stored it would
     * break every later read of the row.
     */
    private static List<String> modelIds(List<String> models) {
        if (models != null && models.stream().anyMatch(model -> model == null || model.isBlank())) {
            throw invalidRequest("'allowed_models' must hold model ids: non-empty strings.", "allowed_models");
        }
        return models;
    }

    private static void positive(Number value, String param) {
        if (value != null && value.longValue() < 1) {
            throw invalidRequest("'" + param + "' must be at least 1.", param);
        }
    }

    private static UUID uuid(String id) {
        try {
            return UUID.fromString(id);
        } catch (IllegalArgumentException e) {
            throw ApiException.notFound("No key " + id + ".");
        }
    }
}
