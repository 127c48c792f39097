package io.tianshu.gateway.auth;

import com.fasterxml.jackson.databind.PropertyNamingStrategies;
import com.fasterxml.jackson.databind.annotation.JsonNaming;
import io.swagger.v3.oas.annotations.Operation;
import io.swagger.v3.oas.annotations.tags.Tag;
import io.tianshu.gateway.db.Blocking;
import java.time.Instant;
import java.util.List;
import java.util.Set;
import java.util.TreeSet;
import java.util.UUID;
import org.springframework.web.bind.annotation.GetMapping;
import org.springframework.web.bind.annotation.RestController;
import reactor.core.publisher.Mono;

/**
 * {@code GET /v1/me}: who the presented key or JWT is, what it may do and use. Any valid
 * caller may ask; it only describes the caller itself (the console shows its pages by it).
 */
@RestController
@Tag(name = "Caller", description = "The caller's own identity, scopes and limits")
class MeController {

    private final KeyStore keys;

    MeController(KeyStore keys) {
        this.keys = keys;
    }

    /**
     * @param key the api key's id, name and expiry; null for a JWT (or with auth switched off)
     * @param allowedModels the models both the key and its tenant allow; null = any served model
     * @param keyLimits the key's own rate limits
     * @param tenantLimits the tenant's rate limits, which all its keys share
     */
    @JsonNaming(PropertyNamingStrategies.SnakeCaseStrategy.class)
    record Me(String object, String tenant, String subject, Set<String> scopes, Key key, List<String> allowedModels,
            Limits keyLimits, Limits tenantLimits) {
    }

    /** Requests and tokens per minute; null = no limit at this level. */
    record Limits(Integer rpm, Integer tpm) {
        static Limits of(Caller.Limits limits) {
            return new Limits(limits.rpm(), limits.tpm());
        }
    }

    @JsonNaming(PropertyNamingStrategies.SnakeCaseStrategy.class)
    record Key(UUID id, String name, String prefix, Instant expiresAt) {
    }

    @GetMapping("/v1/me")
    @Operation(summary = "The caller: tenant, key, scopes, allowed models and limits")
    Mono<Me> me() {
        return Callers.current().flatMap(caller -> caller.keyId() == null
                ? Mono.just(describe(caller, null))
                : Blocking.call(() -> describe(caller, keys.find(caller.keyId())
                        .map(info -> new Key(info.id(), info.name(), info.prefix(), info.expiresAt())).orElse(null))));
    }

    private static Me describe(Caller caller, Key key) {
        return new Me("caller", caller.tenant(), caller.subject(), new TreeSet<>(caller.scopes()), key,
                allowed(caller.keyLimits().allowedModels(), caller.tenantLimits().allowedModels()),
                Limits.of(caller.keyLimits()), Limits.of(caller.tenantLimits()));
    }

    /** What both lists allow; a null list allows everything. */
    static List<String> allowed(List<String> byKey, List<String> byTenant) {
        if (byKey == null) {
            return byTenant;
        }
        if (byTenant == null) {
            return byKey;
        }
        return byKey.stream().filter(byTenant::contains).toList();
    }
}
