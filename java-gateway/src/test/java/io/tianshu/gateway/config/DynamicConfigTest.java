package io.tianshu.gateway.config;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.tianshu.gateway.auth.KeyStore;
import io.tianshu.gateway.support.FakeInferenceService;
import io.tianshu.gateway.support.GatewayTest;
import io.tianshu.gateway.support.TestKeys;
import io.tianshu.gateway.tenants.TenantStore;
import io.tianshu.gateway.usage.UsageStore;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.springframework.beans.factory.annotation.Autowired;
import org.springframework.boot.test.system.CapturedOutput;
import org.springframework.boot.test.system.OutputCaptureExtension;
import org.springframework.boot.test.web.server.LocalServerPort;
import org.springframework.http.MediaType;
import org.springframework.web.reactive.function.client.WebClient;
import reactor.test.StepVerifier;

/**
 * Changes of the dynamic config, made through {@link DynamicConfig#apply}, the method the Nacos
 * listener calls with each published document; each takes effect for the next call.
 */
@ExtendWith(OutputCaptureExtension.class)
class DynamicConfigTest extends GatewayTest {

    @Autowired
    DynamicConfig dynamic;
    @Autowired
    KeyStore keys;
    @Autowired
    TenantStore tenants;
    @Autowired
    UsageStore usage;
    @LocalServerPort
    int port;

    @AfterEach
    void restoreStartUpSettings() {
        dynamic.apply("");
    }

    @Test
    void tenantLimitChangeTakesEffectForTheNextCall() {
        String tenant = TestKeys.tenant(tenants, null, null, null);
        String key = TestKeys.key(keys, tenant, List.of("chat"), null, null, null, null).plaintext();
        chatAs(key).expectStatus().isOk();

        dynamic.apply(tenantRpm(tenant, 1));
        chatAs(key).expectStatus().isOk().expectHeader().valueEquals("X-RateLimit-Limit-Requests", "1");
        chatAs(key).expectStatus().isEqualTo(429);

        dynamic.apply("");
        chatAs(key).expectStatus().isOk().expectHeader().doesNotExist("X-RateLimit-Limit-Requests");
    }

    @Test
    void aliasIsResolvedBeforeTheModelIsCheckedAdmittedMeteredAndCalled() throws Exception {
        String tenant = TestKeys.tenant(tenants, null, null, null);
        KeyStore.Created key = TestKeys.key(keys, tenant, List.of("chat"), null, null, List.of("tiny-chat"), null);
        web.post().uri("/v1/chat/completions").header("Authorization", "Bearer " + key.plaintext())
                .contentType(MediaType.APPLICATION_JSON).bodyValue(chat("Hi").replace("tiny-chat", "gpt-4o-mini"))
                .exchange().expectStatus().isNotFound();

        dynamic.apply("""
                tianshu.dynamic.model-aliases:
                  gpt-4o-mini: tiny-chat
                """);
        web.post().uri("/v1/chat/completions").header("Authorization", "Bearer " + key.plaintext())
                .contentType(MediaType.APPLICATION_JSON).bodyValue(chat("Hi").replace("tiny-chat", "gpt-4o-mini"))
                .exchange()
                .expectStatus().isOk()
                .expectBody().jsonPath("$.model").isEqualTo("tiny-chat");

        assertThat(fake.lastGeneration.get().getModel()).isEqualTo("tiny-chat");
        assertThat(fake.lastTokenize.get().getModel()).isEqualTo("tiny-chat");
        awaitSettled(tenant, 1);
        assertThat(usage.summarize(tenant, null)).singleElement()
                .satisfies(s -> assertThat(s.model()).isEqualTo("tiny-chat"));
    }

    @Test
    void featureFlagsSwitchStreamingAndEmbeddingsOffAndOn() {
        String stream = chat("Hi", "\"stream\": true");
        String embed = "{\"model\": \"tiny-embed\", \"input\": \"Hi\"}";
        dynamic.apply("""
                tianshu:
                  dynamic:
                    features: {streaming: false, embeddings: false}
                """);
        post("/v1/chat/completions", stream).expectStatus().isBadRequest()
                .expectBody().jsonPath("$.error.code").isEqualTo("feature_disabled")
                .jsonPath("$.error.param").isEqualTo("stream");
        post("/v1/completions", "{\"model\": \"tiny-chat\", \"prompt\": \"Hi\", \"stream\": true}")
                .expectStatus().isBadRequest();
        post("/v1/embeddings", embed).expectStatus().isBadRequest()
                .expectBody().jsonPath("$.error.code").isEqualTo("feature_disabled");
        post("/v1/chat/completions", chat("Hi")).expectStatus().isOk();

        dynamic.apply("");
        post("/v1/chat/completions", stream).expectStatus().isOk();
        post("/v1/embeddings", embed).expectStatus().isOk();
    }

    @Test
    void invalidDocumentIsRefusedLoggedAndThePreviousVersionStays(CapturedOutput output) {
        TianshuProperties.Dynamic good = dynamic.apply("tianshu.dynamic.model-aliases: {fast: tiny-chat}");

        for (String bad : List.of(
                "tianshu.dynamic.limits.tenants: {acme: {rpm: 0}}",
                "tianshu.dynamic.limits.window: -5s",
                "tianshu.dynamic.limits.window: soon",
                "tianshu.dynamic.model-aliases: {a: b, b: tiny-chat}",
                "tianshu.dynamic: [unclosed")) {
            assertThatThrownBy(() -> dynamic.apply(bad)).as(bad).isInstanceOf(IllegalArgumentException.class);
            assertThat(dynamic.current()).isSameAs(good);
        }

        post("/v1/chat/completions", chat("Hi").replace("tiny-chat", "fast")).expectStatus().isOk();
        assertThat(output.getAll()).contains("dynamic config refused, keeping the previous version")
                .contains("rpm must be greater than or equal to 1")
                .contains("which is an alias itself");
    }

    @Test
    void openStreamIsNotDroppedByAReload() {
        var events = WebClient.create("http://localhost:" + port).post().uri("/v1/chat/completions")
                .header("Authorization", "Bearer " + adminKey())
                .contentType(MediaType.APPLICATION_JSON)
                .bodyValue(chat(FakeInferenceService.PAUSE, "\"stream\": true"))
                .retrieve().bodyToFlux(String.class);

        StepVerifier.create(events)
                .assertNext(first -> assertThat(first).contains("Hel"))
                .then(() -> {
                    dynamic.apply("""
                            tianshu.dynamic:
                              limits.tenants: {default: {rpm: 1000}}
                              model-aliases: {fast: tiny-chat}
                              features.streaming: false
                            """);
                    fake.resume();
                })
                .assertNext(second -> assertThat(second).contains("lo"))
                .expectNextMatches(last -> last.contains("\"finish_reason\":\"stop\""))
                .expectNext("[DONE]")
                .expectComplete()
                .verify(Duration.ofSeconds(30));
        assertThat(fake.cancelled().getCount()).isEqualTo(1);
    }

    private static String tenantRpm(String tenant, int rpm) {
        return """
                tianshu:
                  dynamic:
                    limits:
                      tenants:
                        %s:
                          rpm: %d
                """.formatted(tenant, rpm);
    }


    private org.springframework.test.web.reactive.server.WebTestClient.ResponseSpec post(String uri, String body) {
        return web.post().uri(uri).contentType(MediaType.APPLICATION_JSON).bodyValue(body).exchange();
    }
}
