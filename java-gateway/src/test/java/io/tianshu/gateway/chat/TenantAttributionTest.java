package io.tianshu.gateway.chat;

import static org.assertj.core.api.Assertions.assertThat;

import io.tianshu.gateway.auth.KeyStore;
import io.tianshu.gateway.support.GatewayTest;
import io.tianshu.gateway.support.TestKeys;
import io.tianshu.gateway.tenants.TenantStore;
import java.util.List;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.springframework.beans.factory.annotation.Autowired;
import org.springframework.http.MediaType;

/** The backends log and meter by tenant: every generation carries the caller's, whatever the route. */
class TenantAttributionTest extends GatewayTest {

    @Autowired
    KeyStore keys;
    @Autowired
    TenantStore tenants;

    @ParameterizedTest(name = "{0} stream={1}")
    @CsvSource({
        "/v1/chat/completions, false",
        "/v1/chat/completions, true",
        "/v1/completions, false",
        "/v1/completions, true",
    })
    void generationCarriesTheCallersTenant(String path, boolean stream) {
        String tenant = TestKeys.tenant(tenants, null, null, null);
        String key = TestKeys.key(keys, tenant, List.of("chat"), null, null, null, null).plaintext();
        String body = path.endsWith("chat/completions")
                ? chat("Hi", "\"stream\": " + stream)
                : "{\"model\": \"tiny-chat\", \"prompt\": \"Hi\", \"stream\": " + stream + "}";

        web.post().uri(path).header("Authorization", "Bearer " + key).contentType(MediaType.APPLICATION_JSON)
                .bodyValue(body)
                .exchange()
                .expectStatus().isOk()
                .expectBody().consumeWith(response -> { });

        assertThat(fake.lastGeneration.get().getTenantId()).isEqualTo(tenant);
    }

    @ParameterizedTest
    @CsvSource({"/v1/chat/completions", "/v1/completions"})
    void bootstrapAdminKeyCallsAsTheDefaultTenant(String path) {
        String body = path.endsWith("chat/completions") ? chat("Hi")
                : "{\"model\": \"tiny-chat\", \"prompt\": \"Hi\"}";
        web.post().uri(path).contentType(MediaType.APPLICATION_JSON).bodyValue(body)
                .exchange().expectStatus().isOk();

        assertThat(fake.lastGeneration.get().getTenantId()).isEqualTo("default");
    }
}
