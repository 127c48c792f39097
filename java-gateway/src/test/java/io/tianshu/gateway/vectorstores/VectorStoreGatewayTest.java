package io.tianshu.gateway.vectorstores;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import io.tianshu.gateway.rag.RagGatewayTest;
import io.tianshu.rag.v1.IngestJobState;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import org.springframework.core.io.ByteArrayResource;
import org.springframework.http.MediaType;
import org.springframework.http.client.MultipartBodyBuilder;
import org.springframework.test.web.reactive.server.WebTestClient;
import org.springframework.web.reactive.function.BodyInserters;

/**
 * The gateway with its RAG backend in-process (the /v1/rag tests' context) and no batch
 * service: documents for vector stores need none. Each test makes its own tenant and keys.
 */
abstract class VectorStoreGatewayTest extends RagGatewayTest {

    static final String RW = "rag:write";
    static final String RO = "rag:read";

    /** A client of a fresh tenant that may read and write vector stores and their documents. */
    WebTestClient owner() {
        return as(newTenant(), RW, RO);
    }

    static WebTestClient.ResponseSpec upload(WebTestClient client, String purpose, String filename, String type,
            byte[] content) {
        MultipartBodyBuilder parts = new MultipartBodyBuilder();
        var part = parts.part("file", new ByteArrayResource(content) {
            @Override
            public String getFilename() {
                return filename;
            }
        });
        if (type != null) {
            part.contentType(MediaType.parseMediaType(type));
        }
        parts.part("purpose", purpose);
        return client.post().uri("/v1/files").contentType(MediaType.MULTIPART_FORM_DATA)
                .body(BodyInserters.fromMultipartData(parts.build())).exchange();
    }

    /** Uploads a Markdown document (purpose assistants) and returns its id. */
    static String document(WebTestClient client, String filename, String text) {
        return json(upload(client, "assistants", filename, "text/markdown", text.getBytes(StandardCharsets.UTF_8))
                .expectStatus().isOk()).get("id").asText();
    }

    static WebTestClient.ResponseSpec post(WebTestClient client, String uri, String body) {
        return client.post().uri(uri).contentType(MediaType.APPLICATION_JSON).bodyValue(body).exchange();
    }

    /** A new store holding one file (its ingest job still running); returns the store's id. */
    static String storeWith(WebTestClient client, String fileId) {
        String storeId = store(client, "{}").get("id").asText();
        post(client, "/v1/vector_stores/" + storeId + "/files", "{\"file_id\": \"" + fileId + "\"}")
                .expectStatus().isOk();
        return storeId;
    }

    /** Creates a store from a JSON body and returns it. */
    static JsonNode store(WebTestClient client, String body) {
        return json(post(client, "/v1/vector_stores", body).expectStatus().isOk());
    }

    static JsonNode json(WebTestClient.ResponseSpec response) {
        return response.expectBody(JsonNode.class).returnResult().getResponseBody();
    }

    /** The error body of a refused call, after checking its status. */
    static JsonNode error(WebTestClient.ResponseSpec response, int status) {
        JsonNode body = json(response.expectStatus().isEqualTo(status));
        assertThat(body.has("error")).as("an OpenAI error body: %s", body).isTrue();
        return body.get("error");
    }

    /** The ids of a list page's items, in order. */
    static List<String> ids(JsonNode page) {
        List<String> ids = new ArrayList<>();
        page.get("data").forEach(item -> ids.add(item.get("id").asText()));
        return ids;
    }

    /** Ends the RAG job of the last accepted ingest call into the store's collection. */
    void finishLastJob(String storeId, IngestJobState state, String error) {
        rag.finish(rag.lastJob(storeId), state, error);
    }
}
