package io.tianshu.gateway.rag;

import io.tianshu.gateway.auth.KeyStore;
import io.tianshu.gateway.support.FakeInferenceService;
import io.tianshu.gateway.support.GatewayTest;
import io.tianshu.gateway.support.TestKeys;
import io.tianshu.gateway.tenants.TenantStore;
import java.util.List;
import org.springframework.beans.factory.annotation.Autowired;
import org.springframework.context.annotation.Import;
import org.springframework.http.HttpHeaders;
import org.springframework.test.context.TestPropertySource;
import org.springframework.test.web.reactive.server.WebTestClient;

/**
 * The gateway with its RAG backend in-process; each test makes its own tenant and keys.
 * Answers naming no model use the fake inference service's chat model.
 */
@Import(InProcessRag.class)
@TestPropertySource(properties = "tianshu.rag.answer-model=" + FakeInferenceService.CHAT_MODEL)
abstract class RagGatewayTest extends GatewayTest {

    @Autowired
    FakeRagService rag;
    @Autowired
    KeyStore keys;
    @Autowired
    TenantStore tenants;

    String newTenant() {
        return TestKeys.tenant(tenants, null, null, null);
    }

    /** A client whose key belongs to tenant and has exactly these scopes. */
    WebTestClient as(String tenant, String... scopes) {
        String key = TestKeys.key(keys, tenant, List.of(scopes), null, null, null, null).plaintext();
        return web.mutate().defaultHeaders(h -> h.set(HttpHeaders.AUTHORIZATION, "Bearer " + key)).build();
    }
}
