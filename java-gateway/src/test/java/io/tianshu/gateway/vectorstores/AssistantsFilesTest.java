package io.tianshu.gateway.vectorstores;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import java.nio.charset.StandardCharsets;
import org.junit.jupiter.api.Test;
import org.springframework.http.MediaType;
import org.springframework.test.web.reactive.server.WebTestClient;

/**
 * Files of purpose "assistants": documents for vector stores, kept per tenant like batch files,
 * readable with rag:read and written with rag:write, and served without any batch service (this
 * context has none).
 */
class AssistantsFilesTest extends VectorStoreGatewayTest {

    private static final byte[] GUIDE = "# Guide\n\nHerons wade in shallow water.".getBytes(StandardCharsets.UTF_8);

    @Test
    void aDocumentIsStoredAndServedBackToItsTenantOnly() {
        String tenant = newTenant();
        WebTestClient writer = as(tenant, RW);
        JsonNode file = json(upload(writer, "assistants", "guide.md", null, GUIDE).expectStatus().isOk());
        String id = file.get("id").asText();
        assertThat(id).matches("file-[A-Za-z0-9]{24}");
        assertThat(file.get("object").asText()).isEqualTo("file");
        assertThat(file.get("purpose").asText()).isEqualTo("assistants");
        assertThat(file.get("filename").asText()).isEqualTo("guide.md");
        assertThat(file.get("bytes").asLong()).isEqualTo(GUIDE.length);
        assertThat(file.get("status").asText()).isEqualTo("processed");

        WebTestClient reader = as(tenant, RO);
        reader.get().uri("/v1/files/" + id).exchange().expectStatus().isOk()
                .expectBody().jsonPath("$.purpose").isEqualTo("assistants").jsonPath("$.bytes").isEqualTo(GUIDE.length);
        byte[] served = reader.get().uri("/v1/files/" + id + "/content").exchange().expectStatus().isOk()
                .expectHeader().contentType(MediaType.APPLICATION_OCTET_STREAM)
                .expectBody(byte[].class).returnResult().getResponseBody();
        assertThat(served).isEqualTo(GUIDE);
        reader.get().uri("/v1/files?purpose=assistants").exchange().expectStatus().isOk().expectBody()
                .jsonPath("$.object").isEqualTo("list").jsonPath("$.data.length()").isEqualTo(1)
                .jsonPath("$.data[0].id").isEqualTo(id).jsonPath("$.first_id").isEqualTo(id)
                .jsonPath("$.has_more").isEqualTo(false);
        // Without a purpose: what the key may read, here documents only.
        reader.get().uri("/v1/files").exchange().expectStatus().isOk().expectBody()
                .jsonPath("$.data.length()").isEqualTo(1);

        WebTestClient stranger = as(newTenant(), RW, RO);
        assertThat(error(stranger.get().uri("/v1/files/" + id).exchange(), 404).get("message").asText())
                .isEqualTo("No such File object: " + id);
        error(stranger.get().uri("/v1/files/" + id + "/content").exchange(), 404);
        error(stranger.delete().uri("/v1/files/" + id).exchange(), 404);
        stranger.get().uri("/v1/files?purpose=assistants").exchange().expectStatus().isOk()
                .expectBody().jsonPath("$.data.length()").isEqualTo(0);

        writer.delete().uri("/v1/files/" + id).exchange().expectStatus().isOk()
                .expectBody().jsonPath("$.deleted").isEqualTo(true).jsonPath("$.id").isEqualTo(id);
        error(reader.get().uri("/v1/files/" + id).exchange(), 404);
    }

    @Test
    void theFormatComesFromThePartsContentTypeOrElseTheFileName() {
        WebTestClient writer = owner();
        upload(writer, "assistants", "notes", "text/plain", "plain".getBytes(StandardCharsets.UTF_8))
                .expectStatus().isOk();
        upload(writer, "assistants", "page.html", "application/octet-stream", "<p>x</p>".getBytes(StandardCharsets.UTF_8))
                .expectStatus().isOk();
        upload(writer, "assistants", "paper.pdf", null, "%PDF-1.4".getBytes(StandardCharsets.UTF_8))
                .expectStatus().isOk();

        JsonNode unknown = error(upload(writer, "assistants", "blob", "application/octet-stream",
                new byte[] {1, 2}), 400);
        assertThat(unknown.get("param").asText()).isEqualTo("file");
        assertThat(unknown.get("code").asText()).isEqualTo("unsupported_file");
        assertThat(unknown.get("message").asText()).contains("Cannot tell the format of 'blob'");
        JsonNode image = error(upload(writer, "assistants", "cat.png", "image/png", new byte[] {1, 2}), 400);
        assertThat(image.get("code").asText()).isEqualTo("unsupported_file");
        assertThat(image.get("message").asText()).contains("'cat.png' is image/png");
        JsonNode empty = error(upload(writer, "assistants", "empty.md", null, new byte[0]), 400);
        assertThat(empty.get("param").asText()).isEqualTo("file");
        assertThat(empty.get("message").asText()).isEqualTo("The file 'empty.md' is empty.");
    }

    @Test
    void scopesFollowThePurpose() {
        String tenant = newTenant();
        // Documents need rag:write to upload; batch files the batch scope.
        assertThat(error(upload(as(tenant, RO), "assistants", "a.md", null, GUIDE), 403).get("code").asText())
                .isEqualTo("insufficient_scope");
        error(upload(as(tenant, "batch"), "assistants", "a.md", null, GUIDE), 403);
        assertThat(error(upload(as(tenant, RW), "batch", "in.jsonl", null, GUIDE), 403).get("message").asText())
                .isEqualTo("This API key lacks the scope that POST /v1/files requires.");
        // A key of neither kind never reaches the route.
        error(upload(as(tenant, "chat"), "assistants", "a.md", null, GUIDE), 403);

        String id = document(as(tenant, RW), "a.md", "# A");
        error(as(tenant, "batch").get().uri("/v1/files/" + id).exchange(), 403);
        error(as(tenant, RO).delete().uri("/v1/files/" + id).exchange(), 403);
        error(as(tenant, RW).get().uri("/v1/files?purpose=assistants").exchange(), 403);
    }

    @Test
    void batchFilesStillNeedABatchServiceWhichThisGatewayLacks() {
        WebTestClient admin = web;
        assertThat(error(upload(admin, "batch", "in.jsonl", null, GUIDE), 503).get("code").asText())
                .isEqualTo("batch_unavailable");
        error(admin.get().uri("/v1/files?purpose=batch").exchange(), 503);
        // A document still lists alone, and an unknown file is 503 as before for a key that may read batches.
        admin.get().uri("/v1/files?purpose=assistants").exchange().expectStatus().isOk();
        error(admin.get().uri("/v1/files/file-unknown").exchange(), 503);
        error(as(newTenant(), RO).get().uri("/v1/files/file-unknown").exchange(), 404);
    }

    @Test
    void anUnknownPurposeIs400NamingIt() {
        JsonNode refused = error(upload(owner(), "fine-tune", "a.md", null, GUIDE), 400);
        assertThat(refused.get("param").asText()).isEqualTo("purpose");
        assertThat(refused.get("message").asText()).contains("\"batch\"").contains("\"assistants\"");
    }

    @Test
    void deletingADocumentTakesItOutOfEveryStoreThatHoldsIt() {
        String tenant = newTenant();
        WebTestClient client = as(tenant, RW, RO);
        String id = document(client, "a.md", "# Herons\n\nThey wade.");
        String first = store(client, "{\"file_ids\": [\"" + id + "\"]}").get("id").asText();
        String second = store(client, "{\"file_ids\": [\"" + id + "\"]}").get("id").asText();

        client.delete().uri("/v1/files/" + id).exchange().expectStatus().isOk();

        assertThat(rag.deletions).contains(tenant + "/" + first + "/" + id, tenant + "/" + second + "/" + id);
        error(client.get().uri("/v1/vector_stores/" + first + "/files/" + id).exchange(), 404);
        client.get().uri("/v1/vector_stores/" + second).exchange().expectStatus().isOk()
                .expectBody().jsonPath("$.file_counts.total").isEqualTo(0);
    }
}
