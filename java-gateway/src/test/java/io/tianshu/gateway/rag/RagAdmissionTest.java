package io.tianshu.gateway.rag;

import static org.assertj.core.api.Assertions.assertThat;

import io.tianshu.gateway.config.DynamicConfig;
import io.tianshu.gateway.support.FakeInferenceService;
import io.tianshu.gateway.support.TestKeys;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.springframework.beans.factory.annotation.Autowired;
import org.springframework.http.HttpHeaders;
import org.springframework.http.MediaType;
import org.springframework.jdbc.core.JdbcTemplate;
import org.springframework.test.web.reactive.server.WebTestClient;

/**
 * Answers and searches go through the caller's allowed models and rate limits like chat, and
 * answers are billed the usage the RAG service reports. The fake inference service's chat
 * model has a context of 2048 tokens: that is what an answer reserves.
 */
class RagAdmissionTest extends RagGatewayTest {

    private static final String CHAT = FakeInferenceService.CHAT_MODEL;
    private static final int CONTEXT = 2048;

    @Autowired
    DynamicConfig dynamic;
    @Autowired
    JdbcTemplate jdbc;

    @Test
    void aModelOutsideTheKeysListIs403AndNothingReachesTheRagService() {
        String tenant = newTenant();
        WebTestClient reader = key(tenant, null, null, List.of("some-other-model"));

        answer(reader, "{\"question\": \"q\", \"model\": \"" + CHAT + "\"}")
                .expectStatus().isForbidden()
                .expectBody().jsonPath("$.error.code").isEqualTo("model_not_allowed");
        // The configured default model is checked the same way.
        answer(reader, "{\"question\": \"q\"}")
                .expectStatus().isForbidden()
                .expectBody().jsonPath("$.error.code").isEqualTo("model_not_allowed");
        assertThat(rag.answersOf(tenant)).isEmpty();
    }

    @Test
    void anUnknownModelIs404AndAnEmbeddingModelIs400AndNeitherReachesTheRagService() {
        String tenant = newTenant();
        WebTestClient reader = as(tenant, "rag:read");

        answer(reader, "{\"question\": \"q\", \"model\": \"no-such-model\"}")
                .expectStatus().isNotFound()
                .expectBody().jsonPath("$.error.code").isEqualTo("model_not_found");
        answer(reader, "{\"question\": \"q\", \"model\": \"" + FakeInferenceService.EMBED_MODEL + "\"}")
                .expectStatus().isBadRequest()
                .expectBody().jsonPath("$.error.param").isEqualTo("model");
        assertThat(rag.answersOf(tenant)).isEmpty();
    }

    @Test
    void anAnswerBeyondTheTokensLeftIs429WithRetryAfterAndNothingReachesTheRagService() throws Exception {
        String tenant = newTenant();
        // Room for one reservation of the whole context; after its settlement to 120 + 3 tokens,
        // 2100 - 123 = 1977 are left, less than the next answer's reservation.
        WebTestClient reader = key(tenant, null, CONTEXT + 52, null);

        answer(reader, "{\"question\": \"q\"}")
                .expectStatus().isOk()
                .expectHeader().valueEquals("X-RateLimit-Remaining-Tokens", "52");
        awaitSettled(tenant, 1);
        answer(reader, "{\"question\": \"q\", \"stream\": true}")
                .expectStatus().isEqualTo(429)
                .expectHeader().exists(HttpHeaders.RETRY_AFTER)
                .expectHeader().valueEquals("X-RateLimit-Remaining-Tokens", "1977")
                .expectBody()
                .jsonPath("$.error.code").isEqualTo("rate_limit_exceeded")
                .jsonPath("$.error.message").value(m -> assertThat((String) m).contains("tokens per minute"));
        assertThat(rag.answersOf(tenant)).hasSize(1);
    }

    @Test
    void anAnswerIsRecordedWithTheUsageTheRagServiceReported() throws Exception {
        String tenant = newTenant();

        answer(as(tenant, "rag:read"), "{\"question\": \"q\", \"stream\": true}").expectStatus().isOk()
                .expectBody(String.class).returnResult();
        awaitSettled(tenant, 1);

        web.get().uri("/v1/admin/usage?tenant=" + tenant).exchange().expectStatus().isOk()
                .expectBody()
                .jsonPath("$.data.length()").isEqualTo(1)
                .jsonPath("$.data[0].model").isEqualTo(CHAT)
                .jsonPath("$.data[0].requests").isEqualTo(1)
                .jsonPath("$.data[0].prompt_tokens").isEqualTo(FakeRagService.PROMPT_TOKENS)
                .jsonPath("$.data[0].completion_tokens").isEqualTo(FakeRagService.COMPLETION_TOKENS);
        assertThat(endpoints(tenant)).containsExactly(RagAdmission.ANSWERS);
    }

    @Test
    void anAnswerCutByAFailureIsBilledOneTokenPerTextDeliveredAndNoPrompt() throws Exception {
        String tenant = newTenant();

        answer(as(tenant, "rag:read"), "{\"question\": \"" + FakeRagService.FAIL_MID_ANSWER + "\", \"stream\": true}")
                .expectStatus().isOk().expectBody(String.class).returnResult();
        awaitSettled(tenant, 1);

        web.get().uri("/v1/admin/usage?tenant=" + tenant).exchange().expectStatus().isOk()
                .expectBody()
                .jsonPath("$.data[0].prompt_tokens").isEqualTo(0)
                .jsonPath("$.data[0].completion_tokens").isEqualTo(1);
    }

    @Test
    void anAliasReachesTheRagServiceAsTheModelItStandsFor() {
        String tenant = newTenant();
        // Allow-lists may name the alias, as for chat.
        WebTestClient reader = key(tenant, null, null, List.of("house-answers"));
        dynamic.apply("tianshu.dynamic.model-aliases: {house-answers: " + CHAT + "}");
        try {
            answer(reader, "{\"question\": \"q\", \"model\": \"house-answers\"}")
                    .expectStatus().isOk()
                    .expectBody().jsonPath("$.model").isEqualTo(CHAT);
        } finally {
            dynamic.apply("");
        }
        assertThat(rag.answersOf(tenant)).singleElement()
                .satisfies(sent -> assertThat(sent.getModel()).isEqualTo(CHAT));
    }

    @Test
    void withoutAModelTheConfiguredAnswerModelIsSent() {
        String tenant = newTenant();
        answer(as(tenant, "rag:read"), "{\"question\": \"q\"}").expectStatus().isOk();
        assertThat(rag.answersOf(tenant)).singleElement()
                .satisfies(sent -> assertThat(sent.getModel()).isEqualTo(CHAT));
    }

    @Test
    void aSearchTakesOneRequestFromTheRequestsPerMinute() {
        String tenant = newTenant();
        WebTestClient reader = key(tenant, 1, null, null);

        search(reader).expectStatus().isOk()
                .expectHeader().valueEquals("X-RateLimit-Remaining-Requests", "0");
        assertRefusedByRequestsPerMinute(search(reader));
        assertThat(rag.searchesOf(tenant)).hasSize(1);
    }

    @Test
    void anAnswerTakesOneRequestFromTheRequestsPerMinute() {
        String tenant = newTenant();
        WebTestClient reader = key(tenant, 1, null, null);

        answer(reader, "{\"question\": \"q\"}").expectStatus().isOk();
        answer(reader, "{\"question\": \"q\"}").expectStatus().isEqualTo(429)
                .expectHeader().exists(HttpHeaders.RETRY_AFTER);
        assertThat(rag.answersOf(tenant)).hasSize(1);
    }

    /** A rag:read key of tenant with these limits. */
    private WebTestClient key(String tenant, Integer rpm, Integer tpm, List<String> models) {
        String key = TestKeys.key(keys, tenant, List.of("rag:read"), rpm, tpm, models, null).plaintext();
        return web.mutate().defaultHeaders(h -> h.set(HttpHeaders.AUTHORIZATION, "Bearer " + key)).build();
    }

    private static WebTestClient.ResponseSpec answer(WebTestClient client, String body) {
        return client.post().uri("/v1/rag/collections/docs/answers").contentType(MediaType.APPLICATION_JSON)
                .bodyValue(body).exchange();
    }

    private List<String> endpoints(String tenant) {
        return jdbc.queryForList("SELECT endpoint FROM usage_record WHERE tenant_id = ?", String.class, tenant);
    }
}
