package io.tianshu.gateway.auth;

import static org.assertj.core.api.Assertions.assertThat;

import com.nimbusds.jwt.JWTClaimsSet;
import io.tianshu.gateway.support.GatewayTest;
import io.tianshu.gateway.support.TestJwts;
import io.tianshu.gateway.support.TestKeys;
import io.tianshu.gateway.tenants.TenantStore;
import java.time.Duration;
import java.time.Instant;
import java.util.Date;
import java.util.List;
import java.util.UUID;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;
import org.springframework.beans.factory.annotation.Autowired;
import org.springframework.http.HttpHeaders;
import org.springframework.http.MediaType;
import org.springframework.test.web.reactive.server.WebTestClient;

/** Api keys and JWTs (HS256 with TestJwts.SECRET, issuer TestJwts.ISSUER, as every test context). */
class AuthTest extends GatewayTest {

    @Autowired
    KeyStore keys;
    @Autowired
    TenantStore tenants;

    @Test
    void missingKeyIs401InvalidApiKey() {
        web.mutate().defaultHeaders(h -> h.remove("Authorization")).build()
                .post().uri("/v1/chat/completions").contentType(MediaType.APPLICATION_JSON).bodyValue(chat("Hi"))
                .exchange()
                .expectStatus().isUnauthorized()
                .expectHeader().exists("X-Request-Id")
                .expectBody()
                .jsonPath("$.error.type").isEqualTo("invalid_request_error")
                .jsonPath("$.error.code").isEqualTo("invalid_api_key");
    }

    @Test
    void unknownRevokedAndExpiredKeysAre401() {
        String tenant = TestKeys.tenant(tenants, null, null, null);
        KeyStore.Created revoked = TestKeys.key(keys, tenant, List.of("chat"), null, null, null, null);
        keys.revoke(revoked.info().id());
        String expired = TestKeys.key(keys, tenant, List.of("chat"), null, null, null,
                Instant.now().minusSeconds(60)).plaintext();
        for (String key : List.of(ApiKeys.generate(), revoked.plaintext(), expired, "not-a-key")) {
            chatAs(key).expectStatus().isUnauthorized().expectBody().jsonPath("$.error.code").isEqualTo("invalid_api_key");
        }
    }

    @Test
    void revokingAKeyThroughTheAdminApiRefusesItAtOnceThoughItWasCached() {
        String tenant = TestKeys.tenant(tenants, null, null, null);
        KeyStore.Created created = TestKeys.key(keys, tenant, List.of("chat"), null, null, null, null);
        chatAs(created.plaintext()).expectStatus().isOk();
        web.delete().uri("/v1/admin/keys/" + created.info().id()).exchange().expectStatus().isOk();
        chatAs(created.plaintext()).expectStatus().isUnauthorized();
    }

    @Test
    void aCachedKeyIsNotTrustedPastItsOwnExpiry() throws InterruptedException {
        String tenant = TestKeys.tenant(tenants, null, null, null);
        Instant expiry = Instant.now().plusSeconds(2);
        String key = TestKeys.key(keys, tenant, List.of("chat"), null, null, null, expiry).plaintext();
        chatAs(key).expectStatus().isOk();
        // The cache TTL (5 s by default) outlives the key: expiry must still win.
        Thread.sleep(Math.max(0, Duration.between(Instant.now(), expiry).toMillis()) + 200);
        chatAs(key).expectStatus().isUnauthorized();
    }

    @Test
    void keyWithoutTheRoutesScopeIs403() {
        String tenant = TestKeys.tenant(tenants, null, null, null);
        String key = TestKeys.key(keys, tenant, List.of("embeddings"), null, null, null, null).plaintext();
        chatAs(key).expectStatus().isForbidden().expectBody().jsonPath("$.error.code").isEqualTo("insufficient_scope");
        as(key).get().uri("/v1/admin/keys").exchange().expectStatus().isForbidden();
    }

    @Test
    void anErrorAnsweredBeforeTheBodyIsReadKeepsTheConnection() {
        String tenant = TestKeys.tenant(tenants, null, null, null);
        String key = TestKeys.key(keys, tenant, List.of("embeddings"), null, null, null, null).plaintext();
        // Rejected from its headers; its small body is read and dropped, so the connection
        // can carry the client's next call (KeepAliveTest covers the bodies too big for that).
        chatAs(key).expectStatus().isForbidden().expectHeader().doesNotExist(HttpHeaders.CONNECTION);
        as(key).get().uri("/v1/admin/keys").exchange().expectStatus().isForbidden()
                .expectHeader().doesNotExist(HttpHeaders.CONNECTION);
        chatAs(key).expectStatus().isForbidden();
    }

    @Test
    void modelOutsideTheKeysOrTenantsListIs403() {
        String open = TestKeys.tenant(tenants, null, null, null);
        String keyLimited = TestKeys.key(keys, open, List.of("chat"), null, null, List.of("other"), null).plaintext();
        chatAs(keyLimited).expectStatus().isForbidden().expectBody().jsonPath("$.error.code")
                .isEqualTo("model_not_allowed");
        String closed = TestKeys.tenant(tenants, null, null, List.of("other"));
        String tenantLimited = TestKeys.key(keys, closed, List.of("chat"), null, null, null, null).plaintext();
        chatAs(tenantLimited).expectStatus().isForbidden();
    }

    @Test
    void healthAndApiDocsStayPublic() {
        // The first OpenAPI document of a test JVM takes seconds to build on a busy machine.
        WebTestClient anonymous = web.mutate().defaultHeaders(h -> h.remove("Authorization"))
                .responseTimeout(Duration.ofSeconds(30)).build();
        anonymous.get().uri("/actuator/health/liveness").exchange().expectStatus().isOk();
        anonymous.get().uri("/v3/api-docs").exchange().expectStatus().isOk();
        anonymous.get().uri("/v1/models").exchange().expectStatus().isUnauthorized();
    }

    @Test
    void hs256JwtWithTenantAndScopeIsAccepted() {
        chatAs(TestJwts.token("acme", "chat rag:read")).expectStatus().isOk();
        chatAs(TestJwts.token("acme", "embeddings")).expectStatus().isForbidden();
    }

    @Test
    void theJwtsTenantClaimIsTheTenantTheBackendIsCalledFor() {
        String tenant = "jwt-" + UUID.randomUUID().toString().substring(0, 8);
        chatAs(TestJwts.token(tenant, "chat")).expectStatus().isOk();
        assertThat(fake.lastGeneration.get().getTenantId()).isEqualTo(tenant);

        web.post().uri("/v1/chat/completions").header(HttpHeaders.AUTHORIZATION, "Bearer " + TestJwts.token(tenant,
                "chat")).contentType(MediaType.APPLICATION_JSON).bodyValue(chat("Hi", "\"stream\": true"))
                .exchange().expectStatus().isOk().expectBody().consumeWith(response -> { });
        assertThat(fake.lastGeneration.get().getTenantId()).isEqualTo(tenant);
    }

    static Stream<Arguments> refusedJwts() {
        Instant now = Instant.now();
        return Stream.of(
                // Past Spring Security's 60 s allowance for clock skew.
                refused("expired", TestJwts.sign(TestJwts.claims("acme", "chat")
                        .issueTime(Date.from(now.minusSeconds(900)))
                        .expirationTime(Date.from(now.minusSeconds(300))).build(), TestJwts.SECRET)),
                refused("without a tenant claim", TestJwts.sign(new JWTClaimsSet.Builder(TestJwts.claims("acme", "chat")
                        .build()).claim("tenant", null).build(), TestJwts.SECRET)),
                refused("with a blank tenant claim", TestJwts.token(" ", "chat")),
                refused("from another issuer", TestJwts.sign(TestJwts.claims("acme", "chat")
                        .issuer("https://login.elsewhere.test").build(), TestJwts.SECRET)),
                refused("without an issuer", TestJwts.sign(TestJwts.claims("acme", "chat").issuer(null).build(),
                        TestJwts.SECRET)),
                refused("signed with an unknown key", TestJwts.sign(TestJwts.claims("acme", "chat").build(),
                        "another-secret-that-is-at-least-32-bytes")));
    }

    private static Arguments refused(String what, String token) {
        return Arguments.of(what, token);
    }

    @ParameterizedTest(name = "a JWT {0}")
    @MethodSource("refusedJwts")
    void aJwtThatDoesNotCheckOutIs401WithOpenAisBody(String what, String token) {
        chatAs(token)
                .expectStatus().isUnauthorized()
                .expectHeader().valueEquals(HttpHeaders.WWW_AUTHENTICATE, "Bearer")
                .expectBody()
                .jsonPath("$.error.type").isEqualTo("invalid_request_error")
                .jsonPath("$.error.code").isEqualTo("invalid_api_key")
                .jsonPath("$.error.param").isEmpty()
                .jsonPath("$.error.message").value(message -> assertThat((String) message).isNotBlank()
                        .doesNotContain(token));
        assertThat(fake.generateCalls).as("nothing reached the backend").hasValue(0);
    }

    private WebTestClient as(String token) {
        return web.mutate().defaultHeaders(h -> h.setBearerAuth(token)).build();
    }
}
