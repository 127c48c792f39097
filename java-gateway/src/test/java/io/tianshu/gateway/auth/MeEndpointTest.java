package io.tianshu.gateway.auth;

import static org.assertj.core.api.Assertions.assertThat;

import io.tianshu.gateway.support.GatewayTest;
import io.tianshu.gateway.support.TestJwts;
import io.tianshu.gateway.support.TestKeys;
import io.tianshu.gateway.tenants.TenantStore;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.springframework.beans.factory.annotation.Autowired;
import org.springframework.http.HttpHeaders;

/** GET /v1/me describes the presented key itself, whatever its scopes, and nothing for no key. */
class MeEndpointTest extends GatewayTest {

    @Autowired
    KeyStore keys;
    @Autowired
    TenantStore tenants;

    @Test
    void aKeyWithOneScopeSeesItsTenantNameScopesExpiryAndTheModelsBothListsAllow() {
        String tenant = TestKeys.tenant(tenants, 50, null, List.of("tiny-chat", "other"));
        Instant expires = Instant.now().plus(3, ChronoUnit.DAYS).truncatedTo(ChronoUnit.SECONDS);
        KeyStore.Created key = keys.create(new KeyStore.NewKey(tenant, "reader", List.of("rag:read"),
                List.of("tiny-chat", "not-on-tenant"), 7, null, expires, "test"));

        web.get().uri("/v1/me").header(HttpHeaders.AUTHORIZATION, "Bearer " + key.plaintext()).exchange()
                .expectStatus().isOk()
                .expectBody()
                .jsonPath("$.object").isEqualTo("caller")
                .jsonPath("$.tenant").isEqualTo(tenant)
                .jsonPath("$.subject").isEqualTo("key:" + key.info().id())
                .jsonPath("$.scopes.length()").isEqualTo(1)
                .jsonPath("$.scopes[0]").isEqualTo("rag:read")
                .jsonPath("$.key.id").isEqualTo(key.info().id().toString())
                .jsonPath("$.key.name").isEqualTo("reader")
                .jsonPath("$.key.prefix").isEqualTo(key.plaintext().substring(0, 12))
                .jsonPath("$.key.expires_at").isEqualTo(expires.toString())
                .jsonPath("$.allowed_models.length()").isEqualTo(1)
                .jsonPath("$.allowed_models[0]").isEqualTo("tiny-chat")
                .jsonPath("$.key_limits.rpm").isEqualTo(7)
                .jsonPath("$.tenant_limits.rpm").isEqualTo(50)
                .jsonPath("$.tenant_limits.tpm").isEmpty();
    }

    @Test
    void theAdminKeySeesEveryScopeAndNoModelLimit() {
        web.get().uri("/v1/me").exchange()
                .expectStatus().isOk()
                .expectBody()
                .jsonPath("$.tenant").isEqualTo("default")
                .jsonPath("$.scopes.length()").isEqualTo(Scope.all().size())
                .jsonPath("$.allowed_models").isEmpty();
    }

    @Test
    void aJwtCallerHasNoKeyAndNoKeyIsUnauthorized() {
        String tenant = TestKeys.tenant(tenants, null, null, null);
        web.get().uri("/v1/me").header(HttpHeaders.AUTHORIZATION, "Bearer " + TestJwts.token(tenant, "chat"))
                .exchange()
                .expectStatus().isOk()
                .expectBody()
                .jsonPath("$.tenant").isEqualTo(tenant)
                .jsonPath("$.key").isEmpty()
                .jsonPath("$.scopes[0]").isEqualTo("chat");
        web.mutate().defaultHeaders(headers -> headers.remove(HttpHeaders.AUTHORIZATION)).build()
                .get().uri("/v1/me").exchange()
                .expectStatus().isUnauthorized()
                .expectBody().jsonPath("$.error.code").isEqualTo("invalid_api_key");
    }
}
