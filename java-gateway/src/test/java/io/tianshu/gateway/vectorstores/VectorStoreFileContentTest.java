package io.tianshu.gateway.vectorstores;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import io.tianshu.rag.v1.GetDocumentRequest;
import io.tianshu.rag.v1.IngestJobState;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.springframework.test.web.reactive.server.WebTestClient;

/**
 * {@code GET /v1/vector_stores/{id}/files/{file_id}/content}: OpenAI's file content page, read
 * from the file's RAG document.
 */
class VectorStoreFileContentTest extends VectorStoreGatewayTest {

    private static final String GUIDE = "# Guide\n\nHerons wade.\n\nEgrets fish.";

    @Test
    void aCompletedFilesContentIsItsChunksInOrderWithoutTheTextTheyRepeat() {
        WebTestClient client = owner();
        String fileId = document(client, "guide.md", GUIDE);
        String storeId = completedStoreWith(client, fileId);

        JsonNode page = json(client.get().uri("/v1/vector_stores/" + storeId + "/files/" + fileId + "/content")
                .exchange().expectStatus().isOk());

        assertThat(page.get("object").asText()).isEqualTo("vector_store.file_content.page");
        assertThat(page.get("has_more").asBoolean()).isFalse();
        assertThat(page.get("next_page").isNull()).isTrue();
        assertThat(page.get("file_id").asText()).isEqualTo(fileId);
        assertThat(page.get("filename").asText()).isEqualTo("guide.md");
        List<String> texts = new ArrayList<>();
        for (JsonNode item : page.get("data")) {
            assertThat(item.get("type").asText()).isEqualTo("text");
            texts.add(item.get("text").asText());
        }
        // The fake's chunks repeat the paragraph before them; the items do not.
        assertThat(texts).containsExactly("# Guide", "\n\nHerons wade.", "\n\nEgrets fish.");
        assertThat(String.join("", texts)).isEqualTo(GUIDE);
        GetDocumentRequest sent = rag.lastGetDocument.get();
        assertThat(sent.getCollectionId()).isEqualTo(storeId);
        assertThat(sent.getDocumentId()).isEqualTo(fileId);
        assertThat(sent.getPageSize()).isEqualTo(500);
    }

    @Test
    void aFileStillIngestingIs400SayingItsStatus() {
        WebTestClient client = owner();
        String fileId = document(client, "guide.md", GUIDE);
        String storeId = storeWith(client, fileId);

        JsonNode refused = error(client.get().uri("/v1/vector_stores/" + storeId + "/files/" + fileId + "/content")
                .exchange(), 400);
        assertThat(refused.get("message").asText()).isEqualTo("File " + fileId + " is in_progress; its content can "
                + "be read once its status is completed.");
        assertThat(rag.lastGetDocument.get() == null
                || !rag.lastGetDocument.get().getDocumentId().equals(fileId)).isTrue();
    }

    @Test
    void anotherTenantsStoreOrAFileNotInTheStoreIs404() {
        WebTestClient client = owner();
        String fileId = document(client, "guide.md", GUIDE);
        String storeId = completedStoreWith(client, fileId);

        JsonNode stranger = error(owner().get().uri("/v1/vector_stores/" + storeId + "/files/" + fileId
                + "/content").exchange(), 404);
        assertThat(stranger.get("message").asText()).isEqualTo("No vector store found with id '" + storeId + "'.");
        JsonNode missing = error(client.get().uri("/v1/vector_stores/" + storeId + "/files/file-none/content")
                .exchange(), 404);
        assertThat(missing.get("message").asText()).isEqualTo("No file found with id 'file-none' in vector store '"
                + storeId + "'.");
    }

    /** A new store holding the file, its ingest job succeeded; returns the store's id. */
    private String completedStoreWith(WebTestClient client, String fileId) {
        String storeId = storeWith(client, fileId);
        finishLastJob(storeId, IngestJobState.INGEST_JOB_STATE_SUCCEEDED, "");
        return storeId;
    }
}
