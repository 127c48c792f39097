package io.tianshu.gateway.admin;

import io.tianshu.gateway.support.GatewayTest;
import java.util.UUID;
import org.junit.jupiter.api.Test;
import org.springframework.http.MediaType;

/**
 * Values PostgreSQL cannot store (a NUL character in text) and values no check expected (a
 * null scope, null model ids) are the caller's mistake: 400 naming it, never 500, and never
 * stored. Found by fuzzing the API.
 */
class UnstorableValuesTest extends GatewayTest {

    private static final String NUL_REFUSED = "A text value in the request holds a NUL character (U+0000), which "
            + "cannot be stored.";

    @Test
    void aNulCharacterInABodyIs400() {
        String tenant = "nul-" + UUID.randomUUID().toString().substring(0, 8);
        web.post().uri("/v1/admin/tenants").contentType(MediaType.APPLICATION_JSON)
                .bodyValue("{\"id\": \"" + tenant + "\", \"name\": \"a\\u0000b\"}")
                .exchange().expectStatus().isBadRequest().expectBody()
                .jsonPath("$.error.code").isEqualTo("invalid_value")
                .jsonPath("$.error.message").isEqualTo(NUL_REFUSED);
    }

    @Test
    void aNulCharacterInAQueryParameterIs400() {
        web.get().uri(b -> b.path("/v1/admin/usage").queryParam("tenant", "a\u0000").build()).exchange()
                .expectStatus().isBadRequest().expectBody()
                .jsonPath("$.error.code").isEqualTo("invalid_value")
                .jsonPath("$.error.message").isEqualTo(NUL_REFUSED);
    }

    @Test
    void aNullAllowedModelIs400AndTheTenantsStayReadable() {
        String tenant = "nulls-" + UUID.randomUUID().toString().substring(0, 8);
        web.post().uri("/v1/admin/tenants").contentType(MediaType.APPLICATION_JSON)
                .bodyValue("{\"id\": \"" + tenant + "\", \"allowed_models\": [null, null]}")
                .exchange().expectStatus().isBadRequest().expectBody()
                .jsonPath("$.error.param").isEqualTo("allowed_models");
        String patched = "patched-" + UUID.randomUUID().toString().substring(0, 8);
        web.post().uri("/v1/admin/tenants").contentType(MediaType.APPLICATION_JSON)
                .bodyValue("{\"id\": \"" + patched + "\"}").exchange().expectStatus().isCreated();
        web.patch().uri("/v1/admin/tenants/" + patched).contentType(MediaType.APPLICATION_JSON)
                .bodyValue("{\"allowed_models\": [7]}")
                .exchange().expectStatus().isBadRequest().expectBody()
                .jsonPath("$.error.param").isEqualTo("allowed_models");
        web.get().uri("/v1/admin/tenants").exchange().expectStatus().isOk()
                .expectBody().jsonPath("$.data[?(@.id == '" + tenant + "')]").isEmpty()
                .jsonPath("$.data[?(@.id == '" + patched + "')].allowed_models").isEqualTo(
                        java.util.Collections.singletonList(null));
    }

    @Test
    void aNullScopeIs400NamingScopes() {
        web.post().uri("/v1/admin/keys").contentType(MediaType.APPLICATION_JSON)
                .bodyValue("{\"tenant\": \"default\", \"scopes\": [null]}")
                .exchange().expectStatus().isBadRequest().expectBody()
                .jsonPath("$.error.param").isEqualTo("scopes")
                .jsonPath("$.error.message").value(org.hamcrest.Matchers.startsWith("unknown scope 'null'"));
    }
}
