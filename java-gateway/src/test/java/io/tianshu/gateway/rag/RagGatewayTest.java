package io.tianshu.gateway.rag;

import static org.assertj.core.api.Assertions.assertThat;

import io.tianshu.gateway.auth.KeyStore;
import io.tianshu.gateway.support.FakeInferenceService;
import io.tianshu.gateway.support.GatewayTest;
import io.tianshu.gateway.support.TestKeys;
import io.tianshu.gateway.tenants.TenantStore;
import java.util.List;
import org.springframework.beans.factory.annotation.Autowired;
import org.springframework.context.annotation.Import;
import org.springframework.http.HttpHeaders;
import org.springframework.http.MediaType;
import org.springframework.test.context.TestPropertySource;
import org.springframework.test.web.reactive.server.WebTestClient;

/**
 * The gateway with its RAG backend in-process; each test makes its own tenant and keys.
 * Answers naming no model use the fake inference service's chat model.
 */
@Import(InProcessRag.class)
@TestPropertySource(properties = "tianshu.rag.answer-model=" + FakeInferenceService.CHAT_MODEL)
public abstract class RagGatewayTest extends GatewayTest {

    @Autowired
    protected FakeRagService rag;
    @Autowired
    protected KeyStore keys;
    @Autowired
    protected TenantStore tenants;

    protected String newTenant() {
        return TestKeys.tenant(tenants, null, null, null);
    }

    /** A search of collection "docs" (the fake answers it whether or not it exists). */
    static WebTestClient.ResponseSpec search(WebTestClient client) {
        return client.post().uri("/v1/rag/collections/docs/search").contentType(MediaType.APPLICATION_JSON)
                .bodyValue("{\"query\": \"q\"}").exchange();
    }

    /** A 429 of a requests-per-minute limit, with Retry-After. */
    static void assertRefusedByRequestsPerMinute(WebTestClient.ResponseSpec response) {
        response.expectStatus().isEqualTo(429)
                .expectHeader().exists(HttpHeaders.RETRY_AFTER)
                .expectBody().jsonPath("$.error.message").value(m -> assertThat((String) m)
                        .contains("requests per minute"));
    }

    /** A client whose key belongs to tenant and has exactly these scopes. */
    protected WebTestClient as(String tenant, String... scopes) {
        String key = TestKeys.key(keys, tenant, List.of(scopes), null, null, null, null).plaintext();
        return web.mutate().defaultHeaders(h -> h.set(HttpHeaders.AUTHORIZATION, "Bearer " + key)).build();
    }
}
