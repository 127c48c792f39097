package io.tianshu.gateway.rag;

import static org.assertj.core.api.Assertions.assertThat;

import io.tianshu.gateway.support.TestJwts;
import org.junit.jupiter.api.Test;
import org.springframework.http.MediaType;
import org.springframework.test.web.reactive.server.WebTestClient;

/** A JWT caller's tenant is its token's tenant claim, and it scopes RAG calls as an api key's tenant does. */
class RagJwtTenantTest extends RagGatewayTest {

    private static final String SCOPES = "rag:read rag:write";

    @Test
    void theTenantClaimIsTheTenantTheRagServiceIsCalledFor() {
        String tenant = TestJwts.newTenant();
        WebTestClient caller = TestJwts.as(web, tenant, SCOPES);

        caller.post().uri("/v1/rag/collections").contentType(MediaType.APPLICATION_JSON)
                .bodyValue("{\"name\": \"notes\"}").exchange().expectStatus().isCreated();
        assertThat(rag.lastCreate.get().getTenantId()).isEqualTo(tenant);

        caller.post().uri("/v1/rag/collections/notes/search").contentType(MediaType.APPLICATION_JSON)
                .bodyValue("{\"query\": \"restart\", \"tenant_id\": \"someone-else\"}").exchange()
                .expectStatus().isOk();
        assertThat(rag.lastSearch.get().getTenantId()).isEqualTo(tenant);
    }

    @Test
    void aJwtCallerOfAnotherTenantCannotReachTheCollection() {
        WebTestClient owner = TestJwts.as(web, TestJwts.newTenant(), SCOPES);
        WebTestClient stranger = TestJwts.as(web, TestJwts.newTenant(), SCOPES);
        owner.post().uri("/v1/rag/collections").contentType(MediaType.APPLICATION_JSON)
                .bodyValue("{\"name\": \"private\"}").exchange().expectStatus().isCreated();

        stranger.get().uri("/v1/rag/collections").exchange().expectStatus().isOk()
                .expectBody().jsonPath("$.data.length()").isEqualTo(0);
        stranger.post().uri("/v1/rag/collections/private/documents").contentType(MediaType.APPLICATION_JSON)
                .bodyValue("{\"documents\": [{\"id\": \"d\", \"text\": \"planted\"}]}").exchange()
                .expectStatus().isNotFound()
                .expectBody().jsonPath("$.error.code").isEqualTo("not_found");
        stranger.delete().uri("/v1/rag/collections/private").exchange()
                .expectStatus().isNotFound()
                .expectBody().jsonPath("$.error.code").isEqualTo("not_found");

        owner.get().uri("/v1/rag/collections").exchange().expectStatus().isOk()
                .expectBody().jsonPath("$.data[0].name").isEqualTo("private");
    }
}
