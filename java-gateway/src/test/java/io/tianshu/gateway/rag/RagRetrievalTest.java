package io.tianshu.gateway.rag;

import static org.assertj.core.api.Assertions.assertThat;

import io.tianshu.gateway.requestid.RequestId;
import io.tianshu.rag.v1.RerankSettings;
import io.tianshu.rag.v1.RetrievalMode;
import io.tianshu.rag.v1.SearchRequest;
import java.time.Duration;
import java.util.Arrays;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.springframework.http.MediaType;
import org.springframework.test.web.reactive.server.WebTestClient;

class RagRetrievalTest extends RagGatewayTest {

    @Test
    void searchPassesOptionsForTheKeysTenantAndShowsEachRetrieversScore() {
        String tenant = newTenant();
        reader(tenant).post().uri("/v1/rag/collections/docs/search").contentType(MediaType.APPLICATION_JSON)
                .bodyValue("{\"query\": \"restart\", \"top_k\": 3, \"mode\": \"full_text\", \"tenant_id\": \"x\","
                        + " \"metadata_filter\": {\"team\": \"ops\"}, \"min_similarity\": 0.25}")
                .exchange()
                .expectStatus().isOk()
                .expectBody()
                .jsonPath("$.object").isEqualTo("list")
                .jsonPath("$.mode").isEqualTo("full_text")
                .jsonPath("$.fallback_reason").isEmpty()
                .jsonPath("$.data[0].document_id").isEqualTo("runbook")
                .jsonPath("$.data[0].chunk_id").isEqualTo("runbook#1")
                .jsonPath("$.data[0].heading_path[1]").isEqualTo("Restart")
                .jsonPath("$.data[0].rank").isEqualTo(1)
                .jsonPath("$.data[0].retrievers[0].retriever").isEqualTo("vector")
                .jsonPath("$.data[0].retrievers[1].retriever").isEqualTo("full_text")
                .jsonPath("$.data[0].retrievers[1].rank").isEqualTo(2);
        SearchRequest sent = rag.lastSearch.get();
        assertThat(sent.getTenantId()).isEqualTo(tenant);
        assertThat(sent.getCollectionId()).isEqualTo("docs");
        assertThat(sent.getOptions().getMode()).isEqualTo(RetrievalMode.RETRIEVAL_MODE_FULL_TEXT);
        assertThat(sent.getOptions().getTopK()).isEqualTo(3);
        assertThat(sent.getOptions().getMinSimilarity()).isEqualTo(0.25f);
        assertThat(sent.getOptions().getMetadataFilter().getFieldsOrThrow("team").getStringValue()).isEqualTo("ops");
    }

    @Test
    void serverTimingShowsTheRagServicesTimeBesideTheGatewaysOwn() {
        String timing = search("{\"query\": \"q\"}").expectStatus().isOk().returnResult(String.class)
                .getResponseHeaders().getFirst("Server-Timing");

        assertThat(timing).isNotNull();
        List<String> steps = Arrays.stream(timing.split(",\\s*")).map(step -> step.split(";dur=")[0]).toList();
        assertThat(steps).contains("backend", "gateway", "request", "response");
    }

    @Test
    void searchWithoutAModeIsHybrid() {
        search("{\"query\": \"q\"}").expectStatus().isOk().expectBody().jsonPath("$.mode").isEqualTo("hybrid");
        assertThat(rag.lastSearch.get().getOptions().getMode()).isEqualTo(RetrievalMode.RETRIEVAL_MODE_HYBRID);
    }

    @Test
    void hybridSearchThatFellBackToFullTextSaysWhy() {
        reader(newTenant()).post().uri("/v1/rag/collections/" + FakeRagService.CHINESE_COLLECTION + "/search")
                .contentType(MediaType.APPLICATION_JSON).bodyValue("{\"query\": \"熊猫\", \"mode\": \"hybrid\"}")
                .exchange()
                .expectStatus().isOk()
                .expectBody()
                .jsonPath("$.mode").isEqualTo("full_text")
                .jsonPath("$.fallback_reason").isEqualTo(FakeRagService.CHINESE_FALLBACK)
                .jsonPath("$.data[0].document_id").isEqualTo("runbook");
    }

    @Test
    void rerankIsTrueFalseOrAnObjectAndTheModelThatRerankedIsShown() {
        search("{\"query\": \"q\", \"rerank\": true}").expectStatus().isOk()
                .expectBody().jsonPath("$.rerank_model").isEqualTo("tiny-embed");
        assertThat(rag.lastSearch.get().getOptions().getRerank().getEnabled()).isTrue();

        search("{\"query\": \"q\", \"rerank\": {\"enabled\": true, \"model\": \"ce\", \"candidates\": 50}}")
                .expectStatus().isOk().expectBody().jsonPath("$.rerank_model").isEqualTo("ce");
        RerankSettings sent = rag.lastSearch.get().getOptions().getRerank();
        assertThat(List.of(sent.getEnabled(), sent.getModel(), sent.getCandidates())).containsExactly(true, "ce", 50);

        search("{\"query\": \"q\", \"rerank\": false}").expectStatus().isOk()
                .expectBody().jsonPath("$.rerank_model").doesNotExist();
        assertThat(rag.lastSearch.get().getOptions().getRerank().hasEnabled()).isTrue();
        search("{\"query\": \"q\"}").expectStatus().isOk();
        assertThat(rag.lastSearch.get().getOptions().getRerank().hasEnabled())
                .as("absent: the collection's setting applies").isFalse();
    }

    @Test
    void badRerankChoicesAre400NamingTheField() {
        search("{\"query\": \"refused-rerank\", \"rerank\": \"yes\"}").expectStatus().isBadRequest()
                .expectBody().jsonPath("$.error.param").isEqualTo("rerank");
        search("{\"query\": \"refused-rerank\", \"rerank\": {\"enabled\": 1}}").expectStatus().isBadRequest()
                .expectBody().jsonPath("$.error.param").isEqualTo("rerank.enabled");
        search("{\"query\": \"refused-rerank\", \"rerank\": {\"candidates\": 0}}").expectStatus().isBadRequest()
                .expectBody().jsonPath("$.error.param").isEqualTo("rerank.candidates");
        search("{\"query\": \"refused-rerank\", \"rerank\": {\"model\": 3}}").expectStatus().isBadRequest()
                .expectBody().jsonPath("$.error.param").isEqualTo("rerank.model");
        assertThat(rag.searches).noneMatch(sent -> sent.getQuery().equals("refused-rerank"));
    }

    @Test
    void badSearchesAre400NamingTheField() {
        search("{\"query\": \"q\", \"mode\": \"semantic\"}").expectStatus().isBadRequest()
                .expectBody().jsonPath("$.error.param").isEqualTo("mode");
        search("{\"query\": \"q\", \"top_k\": 0}").expectStatus().isBadRequest()
                .expectBody().jsonPath("$.error.param").isEqualTo("top_k");
        search("{\"query\": \"q\", \"metadata_filter\": \"team=ops\"}").expectStatus().isBadRequest()
                .expectBody().jsonPath("$.error.param").isEqualTo("metadata_filter");
        search("{}").expectStatus().isBadRequest().expectBody().jsonPath("$.error.param").isEqualTo("query");
        // The service's own refusal, its field translated to the REST body's name.
        search("{\"query\": \"" + FakeRagService.BAD_TOP_K + "\"}").expectStatus().isBadRequest()
                .expectBody()
                .jsonPath("$.error.param").isEqualTo("top_k")
                .jsonPath("$.error.code").isEqualTo("invalid_argument");
    }

    @Test
    void embeddingModelMismatchIs400WithTheServicesReason() {
        search("{\"query\": \"" + FakeRagService.MISMATCH + "\"}").expectStatus().isBadRequest()
                .expectBody()
                .jsonPath("$.error.code").isEqualTo("failed_precondition")
                .jsonPath("$.error.message").isEqualTo("the collection uses 'tiny-embed', not 'other'");
    }

    @Test
    void streamedAnswerRelaysTextThenCitationsThenDone() {
        String tenant = newTenant();
        List<String> events = events(reader(tenant).post().uri("/v1/rag/collections/docs/answers")
                .contentType(MediaType.APPLICATION_JSON)
                .bodyValue("{\"question\": \"how to restart?\", \"stream\": true, \"top_k\": 2, \"max_tokens\": 50}")
                .exchange()
                .expectStatus().isOk()
                .expectHeader().contentTypeCompatibleWith(MediaType.TEXT_EVENT_STREAM));

        assertThat(events).containsExactly(
                "data: {\"type\":\"answer.delta\",\"text\":\"Drain \"}",
                "data: {\"type\":\"answer.delta\",\"text\":\"first [1].\"}",
                "data: {\"type\":\"answer.citations\",\"outcome\":\"answered\",\"citations\":[{\"marker\":1,"
                        + "\"document_id\":\"runbook\",\"chunk_id\":\"runbook#1\",\"heading_path\":[\"Ops\"],"
                        + "\"text\":\"Drain traffic first.\"}],\"model\":\"tiny-chat\","
                        + "\"usage\":{\"prompt_tokens\":120,\"completion_tokens\":3,\"total_tokens\":123}}",
                "data: [DONE]");
        assertThat(rag.lastAnswer.get().getTenantId()).isEqualTo(tenant);
        assertThat(rag.lastAnswer.get().getOptions().getTopK()).isEqualTo(2);
        assertThat(rag.lastAnswer.get().getMaxTokens()).isEqualTo(50);
    }

    @Test
    void answerWithoutStreamIsOneJsonObject() {
        reader(newTenant()).post().uri("/v1/rag/collections/docs/answers").contentType(MediaType.APPLICATION_JSON)
                .bodyValue("{\"question\": \"how to restart?\"}")
                .exchange()
                .expectStatus().isOk()
                .expectBody()
                .jsonPath("$.object").isEqualTo("rag.answer")
                .jsonPath("$.model").isEqualTo("tiny-chat")
                .jsonPath("$.answer").isEqualTo("Drain first [1].")
                .jsonPath("$.usage.prompt_tokens").isEqualTo(FakeRagService.PROMPT_TOKENS)
                .jsonPath("$.usage.completion_tokens").isEqualTo(FakeRagService.COMPLETION_TOKENS)
                .jsonPath("$.outcome").isEqualTo("answered")
                .jsonPath("$.citations[0].marker").isEqualTo(1)
                .jsonPath("$.citations[0].chunk_id").isEqualTo("runbook#1");
    }

    @Test
    void answerFailingBeforeItsFirstEventIsAPlainHttpErrorAndAfterItAnErrorEvent() {
        WebTestClient reader = reader(newTenant());
        reader.post().uri("/v1/rag/collections/docs/answers").contentType(MediaType.APPLICATION_JSON)
                .bodyValue("{\"question\": \"" + FakeRagService.MISMATCH + "\", \"stream\": true}")
                .exchange()
                .expectStatus().isBadRequest()
                .expectHeader().contentTypeCompatibleWith(MediaType.APPLICATION_JSON);
        List<String> events = events(reader.post().uri("/v1/rag/collections/docs/answers")
                .contentType(MediaType.APPLICATION_JSON)
                .header(RequestId.HEADER, "mid-answer-1")
                .bodyValue("{\"question\": \"" + FakeRagService.FAIL_MID_ANSWER + "\", \"stream\": true}")
                .exchange()
                .expectStatus().isOk());
        assertThat(events).hasSize(2);
        // The service's description (addresses, a traceback) is for the log; the event names the request.
        assertThat(events.get(1)).contains("\"type\":\"server_error\"",
                "\"message\":\"The backend failed (request id: mid-answer-1).\"")
                .doesNotContain("remote_addr", "10.1.2.3", "Traceback", "hybrid.py");
    }

    @Test
    void ragHealthIsADetailOfTheHealthEndpoint() {
        web.get().uri("/actuator/health").exchange()
                .expectStatus().isOk()
                .expectBody()
                .jsonPath("$.components.rag.status").isEqualTo("UP")
                .jsonPath("$.components.rag.details.serving").isEqualTo("SERVING");
    }

    @Test
    void ragRoutesAreInTheOpenApiDocument() {
        // The first OpenAPI document of a test JVM takes seconds to build on a busy machine.
        web.mutate().responseTimeout(Duration.ofSeconds(60)).build().get().uri("/v3/api-docs").exchange()
                .expectStatus().isOk()
                .expectBody()
                .jsonPath("$.paths['/v1/rag/collections'].post").exists()
                .jsonPath("$.paths['/v1/rag/collections/{name}/documents'].post.requestBody.content['multipart/form-data']")
                .exists()
                .jsonPath("$.paths['/v1/rag/collections/{name}/answers'].post").exists()
                .jsonPath("$.paths['/v1/rag/jobs/{id}'].get").exists();
    }

    private WebTestClient reader(String tenant) {
        return as(tenant, "rag:read");
    }

    private WebTestClient.ResponseSpec search(String body) {
        return reader(newTenant()).post().uri("/v1/rag/collections/docs/search")
                .contentType(MediaType.APPLICATION_JSON).bodyValue(body).exchange();
    }

    private static List<String> events(WebTestClient.ResponseSpec response) {
        String body = response.expectBody(String.class).returnResult().getResponseBody();
        return Arrays.asList(body.split("\n\n"));
    }
}
