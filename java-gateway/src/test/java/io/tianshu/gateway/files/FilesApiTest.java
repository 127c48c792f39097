package io.tianshu.gateway.files;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import io.tianshu.gateway.batches.BatchGatewayTest;
import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import org.junit.jupiter.api.Test;
import org.springframework.http.MediaType;
import org.springframework.test.web.reactive.server.WebTestClient;

class FilesApiTest extends BatchGatewayTest {

    @Test
    void uploadedFileIsStoredAndServedBackToItsTenantOnly() {
        String tenant = newTenant();
        WebTestClient owner = as(tenant, "batch");
        String content = jsonl(chatLine("a"), "", chatLine("b"));
        byte[] bytes = content.getBytes(StandardCharsets.UTF_8);
        JsonNode file = body(upload(owner, "batch", bytes).expectStatus().isOk());
        assertThat(file.get("object").asText()).isEqualTo("file");
        assertThat(file.get("purpose").asText()).isEqualTo("batch");
        assertThat(file.get("status").asText()).isEqualTo("processed");
        assertThat(file.get("filename").asText()).isEqualTo("input.jsonl");
        assertThat(file.get("bytes").asLong()).isEqualTo(bytes.length);
        assertThat(file.get("created_at").isNumber()).isTrue();
        String id = file.get("id").asText();
        assertThat(id).matches("file-[A-Za-z0-9]{24}");

        owner.get().uri("/v1/files/" + id).exchange().expectStatus().isOk()
                .expectBody().jsonPath("$.id").isEqualTo(id).jsonPath("$.bytes").isEqualTo(bytes.length);
        byte[] served = owner.get().uri("/v1/files/" + id + "/content").exchange().expectStatus().isOk()
                .expectHeader().contentType(MediaType.APPLICATION_OCTET_STREAM)
                .expectBody(byte[].class).returnResult().getResponseBody();
        assertThat(served).isEqualTo(bytes);

        WebTestClient stranger = as(newTenant(), "batch");
        stranger.get().uri("/v1/files/" + id).exchange().expectStatus().isNotFound()
                .expectBody().jsonPath("$.error.code").isEqualTo("not_found")
                .jsonPath("$.error.message").isEqualTo("No such File object: " + id);
        stranger.get().uri("/v1/files/" + id + "/content").exchange().expectStatus().isNotFound();
        stranger.delete().uri("/v1/files/" + id).exchange().expectStatus().isNotFound();
        stranger.get().uri("/v1/files").exchange().expectStatus().isOk()
                .expectBody().jsonPath("$.data.length()").isEqualTo(0);

        owner.delete().uri("/v1/files/" + id).exchange().expectStatus().isOk()
                .expectBody().jsonPath("$.deleted").isEqualTo(true).jsonPath("$.id").isEqualTo(id);
        owner.get().uri("/v1/files/" + id).exchange().expectStatus().isNotFound();
    }

    @Test
    void listPagesNewestFirstLikeOpenAi() {
        WebTestClient owner = as(newTenant(), "batch");
        String first = uploaded(owner, "x");
        String second = uploaded(owner, "y");
        String third = uploaded(owner, "z");
        owner.get().uri("/v1/files?limit=2").exchange().expectStatus().isOk().expectBody()
                .jsonPath("$.object").isEqualTo("list")
                .jsonPath("$.data[0].id").isEqualTo(third)
                .jsonPath("$.data[1].id").isEqualTo(second)
                .jsonPath("$.has_more").isEqualTo(true)
                .jsonPath("$.last_id").isEqualTo(second);
        owner.get().uri("/v1/files?limit=2&after=" + second).exchange().expectStatus().isOk().expectBody()
                .jsonPath("$.data.length()").isEqualTo(1)
                .jsonPath("$.data[0].id").isEqualTo(first)
                .jsonPath("$.has_more").isEqualTo(false);
    }

    @Test
    void everyInvalidLineIsNamedWithItsProblemAndNothingIsStored() {
        WebTestClient owner = as(newTenant(), "batch");
        ByteArrayOutputStream file = new ByteArrayOutputStream();
        file.writeBytes(jsonl(chatLine("a"),
                "{\"custom_id\": \"b\", \"method\": \"POST\"",
                "[1, 2]",
                "{\"method\": \"POST\", \"url\": \"/v1/embeddings\", \"body\": {}}",
                "{\"custom_id\": \"c\", \"method\": \"GET\", \"url\": \"/v1/embeddings\", \"body\": {}}",
                "{\"custom_id\": \"d\", \"method\": \"POST\", \"url\": \"/v1/completions\", \"body\": {}}",
                "{\"custom_id\": \"e\", \"method\": \"POST\", \"url\": \"/v1/embeddings\", \"body\": \"text\"}",
                chatLine("a")).getBytes(StandardCharsets.UTF_8));
        file.writeBytes(new byte[] {'{', '"', (byte) 0xC3, (byte) 0x28, '"', '}', '\n'});

        JsonNode error = body(upload(owner, "batch", file.toByteArray()).expectStatus().isBadRequest()).get("error");
        assertThat(error.get("param").asText()).isEqualTo("file");
        assertThat(error.get("code").asText()).isEqualTo("invalid_batch_file");
        assertThat(error.get("message").asText()).startsWith("The file has 8 invalid lines: ")
                .contains("line 2: not valid JSON")
                .contains("line 3: not a JSON object")
                .contains("line 4: custom_id must be a non-empty string")
                .contains("line 5: method must be \"POST\"")
                .contains("line 6: url must be one of [/v1/chat/completions, /v1/embeddings]")
                .contains("line 7: body must be a JSON object")
                .contains("line 8: custom_id 'a' is used by an earlier line")
                .contains("line 9: not valid UTF-8")
                .doesNotContain("line 1:");
        owner.get().uri("/v1/files").exchange().expectBody().jsonPath("$.data.length()").isEqualTo(0);
    }

    @Test
    void onlyTheFirstTwentyProblemsAreListed() {
        String[] lines = new String[25];
        java.util.Arrays.fill(lines, "not json");
        String message = errorMessage(as(newTenant(), "batch"), jsonl(lines).getBytes(StandardCharsets.UTF_8));
        assertThat(message).startsWith("The file has 25 invalid lines: ").contains("line 20: ")
                .doesNotContain("line 21: ").endsWith("; and 5 more.");
    }

    @Test
    void emptyFileIs400() {
        assertThat(errorMessage(as(newTenant(), "batch"), "\n \n".getBytes(StandardCharsets.UTF_8)))
                .isEqualTo("The file has no request lines.");
    }

    @Test
    void purposeOtherThanBatchIs400NamingPurpose() {
        WebTestClient owner = as(newTenant(), "batch");
        upload(owner, "fine-tune", jsonl(chatLine("a"))).expectStatus().isBadRequest().expectBody()
                .jsonPath("$.error.param").isEqualTo("purpose")
                .jsonPath("$.error.message").value(m -> assertThat((String) m).contains("'fine-tune'"));
        upload(owner, null, jsonl(chatLine("a"))).expectStatus().isBadRequest().expectBody()
                .jsonPath("$.error.param").isEqualTo("purpose");
    }

    @Test
    void fileOverTheLimitIs413NamingTheSetting() {
        WebTestClient owner = as(newTenant(), "batch");
        StringBuilder big = new StringBuilder();
        for (int i = 0; big.length() <= MAX_FILE_BYTES; i++) {
            big.append(chatLine("line-" + i)).append('\n');
        }
        upload(owner, "batch", big.toString()).expectStatus().isEqualTo(413).expectBody()
                .jsonPath("$.error.code").isEqualTo("file_too_large")
                .jsonPath("$.error.message").value(m -> assertThat((String) m).contains("TIANSHU_FILES_MAX_BYTES"));
        owner.get().uri("/v1/files").exchange().expectBody().jsonPath("$.data.length()").isEqualTo(0);
        // Far over it, the body is refused before it is read.
        upload(owner, "batch", new byte[(int) (3 * MAX_FILE_BYTES)]).expectStatus().isEqualTo(413);
    }

    @Test
    void filesAndBatchesNeedTheBatchScope() {
        WebTestClient chatOnly = as(newTenant(), "chat");
        upload(chatOnly, "batch", jsonl(chatLine("a"))).expectStatus().isForbidden()
                .expectBody().jsonPath("$.error.code").isEqualTo("insufficient_scope");
        chatOnly.get().uri("/v1/files").exchange().expectStatus().isForbidden();
        chatOnly.get().uri("/v1/batches").exchange().expectStatus().isForbidden();
        chatOnly.post().uri("/v1/batches/batch_x/cancel").exchange().expectStatus().isForbidden();
    }

    private static JsonNode body(WebTestClient.ResponseSpec response) {
        return response.expectBody(JsonNode.class).returnResult().getResponseBody();
    }

    private static String errorMessage(WebTestClient client, byte[] content) {
        return body(upload(client, "batch", content).expectStatus().isBadRequest()).get("error").get("message")
                .asText();
    }
}
