package io.tianshu.gateway.rag;

import static org.assertj.core.api.Assertions.assertThat;

import io.tianshu.rag.v1.GetDocumentRequest;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.springframework.http.MediaType;
import org.springframework.test.web.reactive.server.WebTestClient;

/** {@code GET /v1/rag/collections/{name}/documents/{id}}: a stored document and its chunks, a page at a time. */
class RagDocumentsTest extends RagGatewayTest {

    private static final String GUIDE = "Drain traffic first.\n\nRestart the gateway.\n\nCheck the health page.";

    @Test
    void aDocumentReadsBackWithItsMetadataAndChunksInPagesForTheKeysTenant() {
        String tenant = newTenant();
        stored(tenant);
        WebTestClient reader = as(tenant, "rag:read");

        reader.get().uri("/v1/rag/collections/ops/documents/guide.md?limit=2").exchange()
                .expectStatus().isOk()
                .expectBody()
                .jsonPath("$.object").isEqualTo("rag.document")
                .jsonPath("$.id").isEqualTo("guide.md")
                .jsonPath("$.collection").isEqualTo("ops")
                .jsonPath("$.content_type").isEqualTo("text/markdown")
                .jsonPath("$.metadata.team").isEqualTo("ops")
                .jsonPath("$.chunk_count").isEqualTo(3)
                .jsonPath("$.updated_at").isEqualTo(1700000100)
                .jsonPath("$.chunks[*].chunk_id").value((List<String> ids) ->
                        assertThat(ids).containsExactly("guide.md#0", "guide.md#1"))
                .jsonPath("$.chunks[0].index").isEqualTo(0)
                .jsonPath("$.chunks[0].heading_path[0]").isEqualTo("Doc")
                .jsonPath("$.chunks[0].text").isEqualTo("Drain traffic first.")
                .jsonPath("$.chunks[0].overlap_chars").isEqualTo(0)
                .jsonPath("$.chunks[1].text").isEqualTo("Drain traffic first.\n\nRestart the gateway.")
                .jsonPath("$.chunks[1].overlap_chars").isEqualTo("Drain traffic first.".length())
                .jsonPath("$.next_page_token").isEqualTo("2");
        GetDocumentRequest sent = rag.lastGetDocument.get();
        assertThat(sent.getTenantId()).isEqualTo(tenant);
        assertThat(sent.getPageSize()).isEqualTo(2);

        reader.get().uri("/v1/rag/collections/ops/documents/guide.md?limit=2&page_token=2").exchange()
                .expectStatus().isOk()
                .expectBody()
                .jsonPath("$.chunks[*].chunk_id").value((List<String> ids) -> assertThat(ids)
                        .containsExactly("guide.md#2"))
                .jsonPath("$.next_page_token").doesNotExist();
        assertThat(rag.lastGetDocument.get().getPageToken()).isEqualTo("2");
    }

    @Test
    void aMissingDocumentAndAnotherTenantsAre404NamingWhatWasNotFound() {
        String owner = newTenant();
        stored(owner);
        as(owner, "rag:read").get().uri("/v1/rag/collections/ops/documents/missing.md").exchange()
                .expectStatus().isNotFound()
                .expectBody()
                .jsonPath("$.error.type").isEqualTo("not_found_error")
                .jsonPath("$.error.message").isEqualTo("document 'missing.md' not found");
        as(newTenant(), "rag:read").get().uri("/v1/rag/collections/ops/documents/guide.md").exchange()
                .expectStatus().isNotFound()
                .expectBody().jsonPath("$.error.message").isEqualTo("collection 'ops' not found");
    }

    @Test
    void readingADocumentTakesRagReadAndALimitOutOfRangeIs400() {
        String tenant = newTenant();
        stored(tenant);
        as(tenant, "rag:write").get().uri("/v1/rag/collections/ops/documents/guide.md").exchange()
                .expectStatus().isForbidden()
                .expectBody().jsonPath("$.error.code").isEqualTo("insufficient_scope");
        for (String limit : List.of("0", "501")) {
            as(tenant, "rag:read").get().uri("/v1/rag/collections/ops/documents/guide.md?limit=" + limit).exchange()
                    .expectStatus().isBadRequest()
                    .expectBody()
                    .jsonPath("$.error.param").isEqualTo("limit")
                    .jsonPath("$.error.message").isEqualTo("limit must be between 1 and 500.");
        }
    }

    private void stored(String tenant) {
        WebTestClient writer = as(tenant, "rag:write");
        writer.post().uri("/v1/rag/collections").contentType(MediaType.APPLICATION_JSON)
                .bodyValue("{\"name\": \"ops\"}").exchange().expectStatus().isCreated();
        writer.post().uri("/v1/rag/collections/ops/documents").contentType(MediaType.APPLICATION_JSON)
                .bodyValue("{\"documents\": [{\"id\": \"guide.md\", \"text\": " + quoted(GUIDE)
                        + ", \"content_type\": \"text/markdown\", \"metadata\": {\"team\": \"ops\"}}]}")
                .exchange().expectStatus().isAccepted();
    }

    private static String quoted(String text) {
        return "\"" + text.replace("\n", "\\n") + "\"";
    }
}
