package io.tianshu.gateway.rerank;

import static org.assertj.core.api.Assertions.assertThat;

import io.tianshu.gateway.auth.KeyStore;
import io.tianshu.gateway.support.FakeInferenceService;
import io.tianshu.gateway.support.GatewayTest;
import io.tianshu.gateway.support.TestKeys;
import io.tianshu.gateway.tenants.TenantStore;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.params.provider.ValueSource;
import org.springframework.beans.factory.annotation.Autowired;
import org.springframework.http.HttpHeaders;
import org.springframework.http.MediaType;
import org.springframework.jdbc.core.JdbcTemplate;
import org.springframework.test.web.reactive.server.WebTestClient;

class RerankTest extends GatewayTest {

    private static final String RERANKER = FakeInferenceService.RERANK_MODEL;
    private static final String QUERY = "reset my password";
    // The fake scores a document by the share of its words that are in the query.
    private static final String DOCUMENTS = "[\"revenue grew by eight percent\", \"reset the password in settings\", "
            + "\"my password\"]";
    // The fake's usage: a token per character of the query and the documents.
    private static final int TOKENS = QUERY.length() + 29 + 30 + 11;

    @Autowired
    TenantStore tenants;
    @Autowired
    KeyStore keys;
    @Autowired
    JdbcTemplate jdbc;

    @ParameterizedTest
    @ValueSource(strings = {"/v1/rerank", "/v2/rerank"})
    void documentsComeBackBestFirstWithTheirIndexScoreAndTextInVllmsShape(String path) {
        web.post().uri(path).contentType(MediaType.APPLICATION_JSON)
                .bodyValue("{\"model\": \"" + RERANKER + "\", \"query\": \"" + QUERY + "\", \"documents\": " + DOCUMENTS
                        + "}")
                .exchange()
                .expectStatus().isOk()
                .expectBody()
                .jsonPath("$.id").value(id -> assertThat((String) id).startsWith("rerank-"))
                .jsonPath("$.model").isEqualTo(RERANKER)
                .jsonPath("$.results.length()").isEqualTo(3)
                .jsonPath("$.results[0].index").isEqualTo(2)
                .jsonPath("$.results[0].relevance_score").isEqualTo(1.0)
                .jsonPath("$.results[0].document.text").isEqualTo("my password")
                .jsonPath("$.results[1].index").isEqualTo(1)
                .jsonPath("$.results[1].relevance_score").isEqualTo(0.4)
                .jsonPath("$.results[2].index").isEqualTo(0)
                .jsonPath("$.usage.total_tokens").isEqualTo(TOKENS)
                .jsonPath("$.usage.prompt_tokens").isEqualTo(TOKENS);
        assertThat(fake.lastRerank.get().getDocumentsList()).containsExactly("revenue grew by eight percent",
                "reset the password in settings", "my password");
        assertThat(fake.lastRerank.get().getTenantId()).isEqualTo("default");
    }

    @Test
    void topNObjectDocumentsAndNoDocumentsBackAreHonoured() {
        web.post().uri("/v1/rerank").contentType(MediaType.APPLICATION_JSON)
                .bodyValue("{\"model\": \"" + RERANKER + "\", \"query\": \"" + QUERY + "\", \"documents\": [{\"text\": "
                        + "\"the password\"}, {\"text\": \"lunch at noon\"}], \"top_n\": 1, \"return_documents\": false}")
                .exchange()
                .expectStatus().isOk()
                .expectBody()
                .jsonPath("$.results.length()").isEqualTo(1)
                .jsonPath("$.results[0].index").isEqualTo(0)
                .jsonPath("$.results[0].document").doesNotExist();
        assertThat(fake.lastRerank.get().getTopN()).isEqualTo(1);
    }

    @Test
    void anEmbeddingModelScoresTooAndAGenerationModelIs400() {
        web.post().uri("/v1/rerank").contentType(MediaType.APPLICATION_JSON)
                .bodyValue("{\"model\": \"" + FakeInferenceService.EMBED_MODEL + "\", \"query\": \"q\", \"documents\": "
                        + "[\"a\"]}")
                .exchange()
                .expectStatus().isOk()
                .expectBody().jsonPath("$.model").isEqualTo(FakeInferenceService.EMBED_MODEL);
        web.post().uri("/v1/rerank").contentType(MediaType.APPLICATION_JSON)
                .bodyValue("{\"model\": \"" + FakeInferenceService.CHAT_MODEL + "\", \"query\": \"q\", \"documents\": "
                        + "[\"a\"]}")
                .exchange()
                .expectStatus().isBadRequest()
                .expectBody()
                .jsonPath("$.error.param").isEqualTo("model")
                .jsonPath("$.error.message").value(m -> assertThat((String) m).contains("neither a reranking"));
    }

    @ParameterizedTest
    @CsvSource(delimiter = '|', value = {
        "{\"query\": \"q\", \"documents\": [\"a\"]}                                            | model",
        "{\"model\": \"tiny-reranker\", \"documents\": [\"a\"]}                                | query",
        "{\"model\": \"tiny-reranker\", \"query\": \"\", \"documents\": [\"a\"]}               | query",
        "{\"model\": \"tiny-reranker\", \"query\": \"q\"}                                      | documents",
        "{\"model\": \"tiny-reranker\", \"query\": \"q\", \"documents\": \"a\"}                | documents",
        "{\"model\": \"tiny-reranker\", \"query\": \"q\", \"documents\": []}                   | documents",
        "{\"model\": \"tiny-reranker\", \"query\": \"q\", \"documents\": [\"a\", 3]}           | documents[1]",
        "{\"model\": \"tiny-reranker\", \"query\": \"q\", \"documents\": [\"a\", {\"txt\": \"b\"}]} | documents[1]",
        "{\"model\": \"tiny-reranker\", \"query\": \"q\", \"documents\": [\"\"]}               | documents[0]",
        "{\"model\": \"tiny-reranker\", \"query\": \"q\", \"documents\": [\"a\"], \"top_n\": 0} | top_n",
        "{\"model\": \"tiny-reranker\", \"query\": \"q\", \"documents\": [\"a\", \"b\", \"c\", \"d\"]} | documents",
    })
    void badRerankRequestIs400NamingItsParamAndReachesNoModel(String body, String param) {
        web.post().uri("/v1/rerank").contentType(MediaType.APPLICATION_JSON).bodyValue(body)
                .exchange()
                .expectStatus().isBadRequest()
                .expectBody()
                .jsonPath("$.error.type").isEqualTo("invalid_request_error")
                .jsonPath("$.error.param").isEqualTo(param);
        assertThat(fake.lastRerank.get()).isNull();
    }

    @Test
    void anUnknownModelIs404() {
        web.post().uri("/v1/rerank").contentType(MediaType.APPLICATION_JSON)
                .bodyValue("{\"model\": \"nope\", \"query\": \"q\", \"documents\": [\"a\"]}")
                .exchange()
                .expectStatus().isNotFound()
                .expectBody().jsonPath("$.error.code").isEqualTo("model_not_found");
    }

    @Test
    void aKeyWithoutTheEmbeddingsScopeIs403AndAKeyWithItIsMeteredUnderRerank() throws Exception {
        String tenant = TestKeys.tenant(tenants, null, 10_000, null);
        String chatOnly = TestKeys.key(keys, tenant, List.of("chat"), null, null, null, null).plaintext();
        String scorer = TestKeys.key(keys, tenant, List.of("embeddings"), null, null, null, null).plaintext();
        String body = "{\"model\": \"" + RERANKER + "\", \"query\": \"" + QUERY + "\", \"documents\": " + DOCUMENTS + "}";

        post(chatOnly, body).expectStatus().isForbidden();
        assertThat(fake.lastRerank.get()).isNull();
        post(scorer, body).expectStatus().isOk();
        awaitSettled(tenant, 1);

        Map<String, Object> row = jdbc.queryForMap("SELECT endpoint, model, prompt_tokens FROM usage_record "
                + "WHERE tenant_id = ?", tenant);
        assertThat(row).containsEntry("endpoint", "rerank").containsEntry("model", RERANKER)
                .containsEntry("prompt_tokens", TOKENS);
    }

    private WebTestClient.ResponseSpec post(String key, String body) {
        return web.post().uri("/v1/rerank").header(HttpHeaders.AUTHORIZATION, "Bearer " + key)
                .contentType(MediaType.APPLICATION_JSON).bodyValue(body).exchange();
    }
}
