package io.tianshu.gateway.batches;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.tianshu.gateway.support.FakeInferenceService;
import io.tianshu.jobs.v1.CreateBatchRequest;
import io.tianshu.jobs.v1.Endpoint;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.List;
import java.util.stream.Collectors;
import java.util.stream.IntStream;
import org.junit.jupiter.api.Test;
import org.springframework.test.web.reactive.server.WebTestClient;

class BatchesApiTest extends BatchGatewayTest {

    private static final ObjectMapper JSON = new ObjectMapper();


    @Test
    void batchIsMadeFromTheFilesLinesForTheCallersTenant() {
        String tenant = newTenant();
        WebTestClient owner = as(tenant, "batch");
        String file = uploaded(owner, "first", "second");
        JsonNode batch = body(createBatch(owner, """
                {"input_file_id": "%s", "endpoint": "/v1/chat/completions", "completion_window": "24h",
                 "metadata": {"team": "ops"}, "webhook_url": "https://hooks.example/done", "tenant_id": "someone"}"""
                .formatted(file), null).expectStatus().isOk());

        assertThat(batch.get("object").asText()).isEqualTo("batch");
        assertThat(batch.get("id").asText()).startsWith("batch_");
        assertThat(batch.get("status").asText()).isEqualTo("in_progress");
        assertThat(batch.get("endpoint").asText()).isEqualTo("/v1/chat/completions");
        assertThat(batch.get("input_file_id").asText()).isEqualTo(file);
        assertThat(batch.get("completion_window").asText()).isEqualTo("24h");
        assertThat(batch.get("request_counts").toString()).isEqualTo("{\"total\":2,\"completed\":0,\"failed\":0}");
        assertThat(batch.get("metadata").get("team").asText()).isEqualTo("ops");
        assertThat(batch.get("output_file_id").isNull()).isTrue();
        assertThat(batch.get("error_file_id").isNull()).isTrue();
        assertThat(batch.get("created_at").asLong()).isPositive();
        assertThat(batch.get("in_progress_at").asLong()).isPositive();
        assertThat(batch.get("completed_at").isNull()).isTrue();
        assertThat(batch.get("usage").get("total_tokens").asLong()).isZero();
        assertThat(batch.get("webhook").get("url").asText()).isEqualTo("https://hooks.example/done");
        assertThat(batch.get("webhook").get("status").asText()).isEqualTo("pending");

        CreateBatchRequest sent = jobs.lastCreate.get();
        assertThat(sent.getTenantId()).isEqualTo(tenant);
        assertThat(sent.getEndpoint()).isEqualTo(Endpoint.ENDPOINT_CHAT_COMPLETIONS);
        assertThat(sent.getLinesList()).extracting(io.tianshu.jobs.v1.InputLine::getCustomId).containsExactly("first", "second");
        // Each line as the chat route's mapper translates its body, at batch priority.
        io.tianshu.inference.v1.Generation first = sent.getLines(0).getGeneration();
        assertThat(first.getModel()).isEqualTo(FakeInferenceService.CHAT_MODEL);
        assertThat(first.getSampling().getMaxTokens()).isEqualTo(8);
        assertThat(first.getMessages(0).getContent()).isEqualTo("Hi first");
        assertThat(first.getPriority()).isEqualTo(io.tianshu.inference.v1.Priority.PRIORITY_BATCH);
        assertThat(sent.getMetadataMap()).containsEntry("team", "ops");
        assertThat(sent.getCompletionWindow()).isEqualTo("24h");
        assertThat(sent.getWebhookUrl()).isEqualTo("https://hooks.example/done");

        owner.get().uri("/v1/batches/" + batch.get("id").asText()).exchange().expectStatus().isOk()
                .expectBody().jsonPath("$.input_file_id").isEqualTo(file);
    }

    @Test
    void idempotencyKeyReturnsTheFirstBatch() {
        WebTestClient owner = as(newTenant(), "batch");
        String file = uploaded(owner, "a");
        int before = jobs.creates.get();
        String first = body(createBatch(owner, chatBatch(file), "retry-me-1").expectStatus().isOk()).get("id").asText();
        String again = body(createBatch(owner, chatBatch(file), "retry-me-1").expectStatus().isOk()).get("id").asText();
        assertThat(again).isEqualTo(first);
        assertThat(jobs.creates.get()).isEqualTo(before + 1);
        assertThat(jobs.lastCreate.get().getIdempotencyKey()).isEqualTo("retry-me-1");

        createBatch(owner, chatBatch(file), "has spaces").expectStatus().isBadRequest()
                .expectBody().jsonPath("$.error.param").isEqualTo("Idempotency-Key");
    }

    @Test
    void linesCallingAnotherEndpointAre400NamingThem() {
        WebTestClient owner = as(newTenant(), "batch");
        String file = uploaded(owner, "a", "b");
        createBatch(owner, "{\"input_file_id\": \"" + file + "\", \"endpoint\": \"/v1/embeddings\"}", null)
                .expectStatus().isBadRequest().expectBody()
                .jsonPath("$.error.param").isEqualTo("input_file_id")
                .jsonPath("$.error.message").isEqualTo("Every line must call the batch's endpoint /v1/embeddings; "
                        + "2 do not, on lines [1, 2].");
    }

    @Test
    void badBodiesAre400NamingTheField() {
        WebTestClient owner = as(newTenant(), "batch");
        String file = uploaded(owner, "a");
        String many = IntStream.range(0, 17).mapToObj(i -> "\"k" + i + "\": \"v\"").collect(Collectors.joining(", "));
        for (String[] bodyAndParam : new String[][] {
            {"{\"endpoint\": \"/v1/chat/completions\"}", "input_file_id"},
            {"{\"input_file_id\": \"" + file + "\"}", "endpoint"},
            {"{\"input_file_id\": \"" + file + "\", \"endpoint\": \"/v1/completions\"}", "endpoint"},
            {"{\"input_file_id\": \"" + file + "\", \"endpoint\": \"/v1/chat/completions\", \"completion_window\": "
                    + "\"1d\"}", "completion_window"},
            {"{\"input_file_id\": \"" + file + "\", \"endpoint\": \"/v1/chat/completions\", \"webhook_url\": "
                    + "\"ftp://x/y\"}", "webhook_url"},
            {"{\"input_file_id\": \"" + file + "\", \"endpoint\": \"/v1/chat/completions\", \"metadata\": {" + many
                    + "}}", "metadata"},
        }) {
            createBatch(owner, bodyAndParam[0], null).expectStatus().isBadRequest()
                    .expectBody().jsonPath("$.error.param").isEqualTo(bodyAndParam[1]);
        }
    }

    @Test
    void anotherTenantsFilesAndBatchesAreNotFound() {
        WebTestClient owner = as(newTenant(), "batch");
        WebTestClient stranger = as(newTenant(), "batch");
        String file = uploaded(owner, "a");
        createBatch(stranger, chatBatch(file), null).expectStatus().isNotFound()
                .expectBody().jsonPath("$.error.param").isEqualTo("input_file_id");
        String batch = body(createBatch(owner, chatBatch(file), null).expectStatus().isOk()).get("id").asText();
        stranger.get().uri("/v1/batches/" + batch).exchange().expectStatus().isNotFound()
                .expectBody().jsonPath("$.error.code").isEqualTo("not_found");
        stranger.post().uri("/v1/batches/" + batch + "/cancel").exchange().expectStatus().isNotFound();
        stranger.get().uri("/v1/batches").exchange().expectStatus().isOk()
                .expectBody().jsonPath("$.data.length()").isEqualTo(0).jsonPath("$.has_more").isEqualTo(false);
    }

    @Test
    void listPagesNewestFirstLikeOpenAi() {
        WebTestClient owner = as(newTenant(), "batch");
        String file = uploaded(owner, "a");
        String first = body(createBatch(owner, chatBatch(file), null)).get("id").asText();
        String second = body(createBatch(owner, chatBatch(file), null)).get("id").asText();
        String third = body(createBatch(owner, chatBatch(file), null)).get("id").asText();
        owner.get().uri("/v1/batches?limit=2").exchange().expectStatus().isOk().expectBody()
                .jsonPath("$.object").isEqualTo("list")
                .jsonPath("$.data[0].id").isEqualTo(third)
                .jsonPath("$.data[1].id").isEqualTo(second)
                .jsonPath("$.data[0].input_file_id").isEqualTo(file)
                .jsonPath("$.first_id").isEqualTo(third)
                .jsonPath("$.last_id").isEqualTo(second)
                .jsonPath("$.has_more").isEqualTo(true);
        owner.get().uri("/v1/batches?limit=2&after=" + second).exchange().expectStatus().isOk().expectBody()
                .jsonPath("$.data.length()").isEqualTo(1)
                .jsonPath("$.data[0].id").isEqualTo(first)
                .jsonPath("$.has_more").isEqualTo(false);
        owner.get().uri("/v1/batches?limit=0").exchange().expectStatus().isBadRequest()
                .expectBody().jsonPath("$.error.param").isEqualTo("limit");
    }

    @Test
    void cancelReportsCancelling() {
        WebTestClient owner = as(newTenant(), "batch");
        String batch = body(createBatch(owner, chatBatch(uploaded(owner, "a")), null)).get("id").asText();
        owner.post().uri("/v1/batches/" + batch + "/cancel").exchange().expectStatus().isOk().expectBody()
                .jsonPath("$.id").isEqualTo(batch)
                .jsonPath("$.status").isEqualTo("cancelling")
                .jsonPath("$.cancelling_at").isNumber();
    }

    @Test
    void resultFilesAreStreamedPageByPageFromTheBatchService() throws Exception {
        String tenant = newTenant();
        WebTestClient owner = as(tenant, "batch");
        String batch = body(createBatch(owner, chatBatch(uploaded(owner, "a", "b", "c", "d", "e")), null)
                .expectStatus().isOk()).get("id").asText();
        jobs.finish(batch, List.of("a", "b", "c", "d"), List.of("e"));

        JsonNode done = body(owner.get().uri("/v1/batches/" + batch).exchange().expectStatus().isOk());
        assertThat(done.get("status").asText()).isEqualTo("completed");
        assertThat(done.get("request_counts").toString()).isEqualTo("{\"total\":5,\"completed\":4,\"failed\":1}");
        assertThat(done.get("usage").get("input_tokens").asLong()).isEqualTo(40);
        assertThat(done.get("usage").get("output_tokens").asLong()).isEqualTo(20);
        assertThat(done.get("usage").get("total_tokens").asLong()).isEqualTo(60);
        assertThat(done.get("completed_at").asLong()).isPositive();
        String output = done.get("output_file_id").asText();
        String errors = done.get("error_file_id").asText();
        assertThat(output).isEqualTo("file-" + batch + "-output");
        assertThat(errors).isEqualTo("file-" + batch + "-errors");

        int pagesBefore = jobs.resultPages.get();
        String content = new String(owner.get().uri("/v1/files/" + output + "/content").exchange()
                .expectStatus().isOk().expectBody(byte[].class).returnResult().getResponseBody(),
                StandardCharsets.UTF_8);
        // Four lines at two per page: two pages, read one after the other.
        assertThat(jobs.resultPages.get() - pagesBefore).isEqualTo(2);
        assertThat(content.lines().map(line -> line.replaceAll(".*\"custom_id\":\"([a-z])\".*", "$1")).toList())
                .containsExactly("a", "b", "c", "d");
        assertThat(content).endsWith("\n");
        // Rendered by the gateway with the chat route's own ChatCompletion, as OpenAI's output line.
        JsonNode line = JSON.readTree(content.lines().findFirst().orElseThrow());
        assertThat(line.get("id").asText()).isEqualTo("batch_req_" + batch + "-a");
        assertThat(line.get("error").isNull()).isTrue();
        JsonNode response = line.get("response");
        assertThat(response.get("status_code").asInt()).isEqualTo(200);
        assertThat(response.get("request_id").asText()).isEqualTo(batch + "-a");
        JsonNode completion = response.get("body");
        assertThat(completion.get("object").asText()).isEqualTo("chat.completion");
        assertThat(completion.get("id").asText()).isEqualTo("chatcmpl-" + batch + "-a");
        assertThat(completion.get("model").asText()).isEqualTo("tiny-chat");
        assertThat(completion.get("choices").get(0).get("message").toString())
                .isEqualTo("{\"role\":\"assistant\",\"content\":\"hi a\"}");
        assertThat(completion.get("choices").get(0).get("finish_reason").asText()).isEqualTo("stop");
        assertThat(completion.get("choices").get(0).get("logprobs").isNull()).isTrue();
        assertThat(completion.get("usage").toString())
                .isEqualTo("{\"prompt_tokens\":10,\"completion_tokens\":5,\"total_tokens\":15}");

        owner.get().uri("/v1/files/" + output).exchange().expectStatus().isOk().expectBody()
                .jsonPath("$.purpose").isEqualTo("batch_output")
                .jsonPath("$.bytes").isEqualTo(content.getBytes(StandardCharsets.UTF_8).length)
                .jsonPath("$.filename").isEqualTo(batch + "_output.jsonl");
        String errorContent = new String(owner.get().uri("/v1/files/" + errors + "/content").exchange()
                .expectStatus().isOk().expectBody(byte[].class).returnResult().getResponseBody(),
                StandardCharsets.UTF_8);
        JsonNode failed = JSON.readTree(errorContent.lines().toList().get(0));
        assertThat(errorContent.lines().count()).isEqualTo(1);
        assertThat(failed.get("custom_id").asText()).isEqualTo("e");
        assertThat(failed.get("response").get("status_code").asInt()).isEqualTo(404);
        assertThat(failed.get("response").get("body").get("error").get("code").asText()).isEqualTo("model_not_found");
        assertThat(failed.get("error").toString())
                .isEqualTo("{\"code\":\"model_not_found\",\"message\":\"no such model\"}");

        WebTestClient stranger = as(newTenant(), "batch");
        stranger.get().uri("/v1/files/" + output + "/content").exchange().expectStatus().isNotFound();
        stranger.get().uri("/v1/files/" + output).exchange().expectStatus().isNotFound();
        owner.delete().uri("/v1/files/" + output).exchange().expectStatus().isBadRequest();
    }

    @Test
    void resultFileOfABatchWithoutSuchLinesIsNotFound() {
        WebTestClient owner = as(newTenant(), "batch");
        String batch = body(createBatch(owner, chatBatch(uploaded(owner, "a")), null)).get("id").asText();
        jobs.finish(batch, List.of("a"), List.of());
        owner.get().uri("/v1/batches/" + batch).exchange().expectBody().jsonPath("$.error_file_id").isEmpty();
        owner.get().uri("/v1/files/file-" + batch + "-errors/content").exchange().expectStatus().isNotFound()
                .expectBody().jsonPath("$.error.message").isEqualTo("No such File object: file-" + batch + "-errors");
    }

    @Test
    void batchHealthIsReportedButOutsideReadiness() {
        web.get().uri("/actuator/health").exchange().expectStatus().isOk()
                .expectBody().jsonPath("$.components.batch.status").isEqualTo("UP");
        // Chat does not need the batch service: its outage must not take the gateway out of rotation.
        web.get().uri("/actuator/health/readiness").exchange().expectStatus().isOk()
                .expectBody().jsonPath("$.components.batch").doesNotExist();
    }

    @Test
    void filesAndBatchesRoutesAreInTheOpenApiDocument() {
        // The first OpenAPI document of a test JVM takes seconds to build on a busy machine.
        web.mutate().responseTimeout(Duration.ofSeconds(60)).build().get().uri("/v3/api-docs").exchange()
                .expectStatus().isOk()
                .expectBody()
                .jsonPath("$.paths['/v1/files'].post.requestBody.content['multipart/form-data']").exists()
                .jsonPath("$.paths['/v1/files/{id}/content'].get").exists()
                .jsonPath("$.paths['/v1/batches'].post").exists()
                .jsonPath("$.paths['/v1/batches'].get").exists()
                .jsonPath("$.paths['/v1/batches/{id}/cancel'].post").exists();
    }

    private static JsonNode body(WebTestClient.ResponseSpec response) {
        return response.expectBody(JsonNode.class).returnResult().getResponseBody();
    }
}
