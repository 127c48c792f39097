package io.tianshu.gateway.rag;

import static org.assertj.core.api.Assertions.assertThat;

import io.tianshu.rag.v1.CollectionLanguage;
import io.tianshu.rag.v1.Document;
import io.tianshu.rag.v1.FusionMethod;
import io.tianshu.rag.v1.FusionSettings;
import io.tianshu.rag.v1.RerankSettings;
import java.nio.charset.StandardCharsets;
import java.util.Base64;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.springframework.core.io.ByteArrayResource;
import org.springframework.http.MediaType;
import org.springframework.http.client.MultipartBodyBuilder;
import org.springframework.test.web.reactive.server.WebTestClient;
import org.springframework.web.reactive.function.BodyInserters;

class RagCollectionsTest extends RagGatewayTest {

    private static final String MARKDOWN = "# Ops\n\n## Restart\nDrain traffic first.\n";

    @Test
    void collectionBelongsToTheKeysTenantWhateverTheBodySays() {
        String tenant = newTenant();
        as(tenant, "rag:write").post().uri("/v1/rag/collections").contentType(MediaType.APPLICATION_JSON)
                .bodyValue("{\"name\": \"handbook\", \"tenant_id\": \"someone-else\", \"description\": \"d\"}")
                .exchange()
                .expectStatus().isCreated()
                .expectBody()
                .jsonPath("$.object").isEqualTo("rag.collection")
                .jsonPath("$.name").isEqualTo("handbook")
                .jsonPath("$.embedding_model").isEqualTo("tiny-embed")
                .jsonPath("$.created_at").isEqualTo(1700000000);
        assertThat(rag.lastCreate.get().getTenantId()).isEqualTo(tenant);
        assertThat(rag.collectionsOf("someone-else")).isEmpty();
    }

    @Test
    void fusionWeightsRoundTripThroughTheCollectionSettings() {
        String tenant = newTenant();
        as(tenant, "rag:write").post().uri("/v1/rag/collections").contentType(MediaType.APPLICATION_JSON)
                .bodyValue("{\"name\": \"weighted\", \"settings\": {\"fusion\": {\"full_text_weight\": 0.3,"
                        + " \"method\": \"rrf\"}}}")
                .exchange()
                .expectStatus().isCreated()
                .expectBody()
                .jsonPath("$.settings.fusion.full_text_weight").isEqualTo(0.3)
                .jsonPath("$.settings.fusion.vector_weight").isEqualTo(1.0)
                .jsonPath("$.settings.fusion.method").isEqualTo("rrf");
        FusionSettings sent = rag.lastCreate.get().getSettings().getFusion();
        assertThat(sent.hasFullTextWeight()).isTrue();
        assertThat(sent.getFullTextWeight()).isEqualTo(0.3);
        assertThat(sent.getMethod()).isEqualTo(FusionMethod.FUSION_METHOD_RRF);
        assertThat(sent.hasVectorWeight()).as("unset stays unset: the service's default applies").isFalse();
        create(tenant, "plain");
        assertThat(rag.lastCreate.get().hasSettings()).isFalse();

        as(tenant, "rag:read").get().uri("/v1/rag/collections").exchange()
                .expectStatus().isOk()
                .expectBody()
                .jsonPath("$.data[?(@.name == 'weighted')].settings.fusion.full_text_weight")
                .value((List<Double> weights) -> assertThat(weights).containsExactly(0.3))
                .jsonPath("$.data[?(@.name == 'plain')].settings.fusion.full_text_weight")
                .value((List<Double> weights) -> assertThat(weights).containsExactly(1.0));
    }

    @Test
    void rerankSettingsRoundTripAndAnOutOfRangeCandidatesIs400() {
        String tenant = newTenant();
        as(tenant, "rag:write").post().uri("/v1/rag/collections").contentType(MediaType.APPLICATION_JSON)
                .bodyValue("{\"name\": \"reranked\", \"settings\": {\"rerank\": {\"enabled\": true, "
                        + "\"candidates\": 40}}}")
                .exchange()
                .expectStatus().isCreated()
                .expectBody()
                .jsonPath("$.settings.rerank.enabled").isEqualTo(true)
                .jsonPath("$.settings.rerank.model").isEqualTo("tiny-embed")
                .jsonPath("$.settings.rerank.candidates").isEqualTo(40);
        RerankSettings sent = rag.lastCreate.get().getSettings().getRerank();
        assertThat(sent.hasEnabled()).isTrue();
        assertThat(sent.getCandidates()).isEqualTo(40);
        assertThat(sent.getModel()).as("unset stays unset: the service's default applies").isEmpty();

        as(tenant, "rag:write").post().uri("/v1/rag/collections").contentType(MediaType.APPLICATION_JSON)
                .bodyValue("{\"name\": \"x\", \"settings\": {\"rerank\": {\"candidates\": 101}}}")
                .exchange()
                .expectStatus().isBadRequest()
                .expectBody().jsonPath("$.error.param").isEqualTo("settings.rerank.candidates");
    }

    @Test
    void theLanguageRoundTripsThroughTheCollectionSettings() {
        String tenant = newTenant();
        as(tenant, "rag:write").post().uri("/v1/rag/collections").contentType(MediaType.APPLICATION_JSON)
                .bodyValue("{\"name\": \"zh\", \"settings\": {\"language\": \"zh\"}}")
                .exchange()
                .expectStatus().isCreated()
                .expectBody().jsonPath("$.settings.language").isEqualTo("zh");
        assertThat(rag.lastCreate.get().getSettings().getLanguage())
                .isEqualTo(CollectionLanguage.COLLECTION_LANGUAGE_ZH);
        create(tenant, "plain");
        assertThat(rag.lastCreate.get().getSettings().getLanguage())
                .as("absent: the service's auto").isEqualTo(CollectionLanguage.COLLECTION_LANGUAGE_UNSPECIFIED);

        as(tenant, "rag:read").get().uri("/v1/rag/collections").exchange()
                .expectStatus().isOk()
                .expectBody()
                .jsonPath("$.data[?(@.name == 'zh')].settings.language")
                .value((List<String> languages) -> assertThat(languages).containsExactly("zh"))
                .jsonPath("$.data[?(@.name == 'plain')].settings.language")
                .value((List<String> languages) -> assertThat(languages).containsExactly("auto"));
    }

    @Test
    void anUnknownLanguageIs400NamingTheField() {
        as(newTenant(), "rag:write").post().uri("/v1/rag/collections").contentType(MediaType.APPLICATION_JSON)
                .bodyValue("{\"name\": \"x\", \"settings\": {\"language\": \"klingon\"}}")
                .exchange()
                .expectStatus().isBadRequest()
                .expectBody()
                .jsonPath("$.error.param").isEqualTo("settings.language")
                .jsonPath("$.error.message").value((String m) -> assertThat(m).contains("auto, zh, en"));
    }

    @Test
    void anUnknownFusionMethodIs400NamingTheField() {
        as(newTenant(), "rag:write").post().uri("/v1/rag/collections").contentType(MediaType.APPLICATION_JSON)
                .bodyValue("{\"name\": \"x\", \"settings\": {\"fusion\": {\"method\": \"borda\"}}}")
                .exchange()
                .expectStatus().isBadRequest()
                .expectBody().jsonPath("$.error.param").isEqualTo("settings.fusion.method");
    }

    @Test
    void anotherTenantNeitherListsNorDeletesTheCollection() {
        String owner = newTenant();
        create(owner, "private");
        String other = newTenant();
        as(other, "rag:read").get().uri("/v1/rag/collections").exchange()
                .expectStatus().isOk()
                .expectBody().jsonPath("$.object").isEqualTo("list").jsonPath("$.data.length()").isEqualTo(0);
        as(other, "rag:write").delete().uri("/v1/rag/collections/private").exchange()
                .expectStatus().isNotFound()
                .expectBody().jsonPath("$.error.code").isEqualTo("not_found");
        as(owner, "rag:read").get().uri("/v1/rag/collections").exchange()
                .expectBody().jsonPath("$.data[0].name").isEqualTo("private");
    }

    @Test
    void scopesSplitReadingFromWriting() {
        String tenant = newTenant();
        WebTestClient reader = as(tenant, "rag:read");
        WebTestClient writer = as(tenant, "rag:write");
        reader.post().uri("/v1/rag/collections").contentType(MediaType.APPLICATION_JSON)
                .bodyValue("{\"name\": \"x\"}").exchange()
                .expectStatus().isForbidden().expectBody().jsonPath("$.error.code").isEqualTo("insufficient_scope");
        reader.delete().uri("/v1/rag/collections/x/documents/d").exchange().expectStatus().isForbidden();
        writer.get().uri("/v1/rag/collections").exchange().expectStatus().isForbidden();
        writer.post().uri("/v1/rag/collections/x/search").contentType(MediaType.APPLICATION_JSON)
                .bodyValue("{\"query\": \"q\"}").exchange().expectStatus().isForbidden();
        as(tenant, "chat").get().uri("/v1/rag/jobs/job-0").exchange().expectStatus().isForbidden();
    }

    @Test
    void existingCollectionIs409() {
        String tenant = newTenant();
        create(tenant, "twice");
        as(tenant, "rag:write").post().uri("/v1/rag/collections").contentType(MediaType.APPLICATION_JSON)
                .bodyValue("{\"name\": \"twice\"}").exchange()
                .expectStatus().isEqualTo(409)
                .expectBody().jsonPath("$.error.code").isEqualTo("already_exists")
                .jsonPath("$.error.message").isEqualTo("collection 'twice' already exists");
    }

    @Test
    void multipartUploadTakesIdsFromFieldsOrFileNamesAndFormatsFromPartsOrExtensions() {
        String tenant = newTenant();
        create(tenant, "docs");
        MultipartBodyBuilder parts = new MultipartBodyBuilder();
        // curl sends octet-stream for a file it cannot type; the extension decides then.
        parts.part("file", file("guide.md", MARKDOWN)).contentType(MediaType.APPLICATION_OCTET_STREAM);
        parts.part("file", file("page.bin", "<h1>Hi</h1>")).contentType(MediaType.parseMediaType("text/html;charset=utf-8"));
        parts.part("metadata", "{\"team\": \"ops\", \"year\": 2024}");

        as(tenant, "rag:write").post().uri("/v1/rag/collections/docs/documents")
                .contentType(MediaType.MULTIPART_FORM_DATA).body(BodyInserters.fromMultipartData(parts.build()))
                .exchange()
                .expectStatus().isAccepted()
                .expectHeader().valueMatches("Location", "/v1/rag/jobs/job-\\d+")
                .expectBody()
                .jsonPath("$.object").isEqualTo("rag.ingest_job")
                .jsonPath("$.status").isEqualTo("queued")
                .jsonPath("$.queue_position").isEqualTo(1)
                .jsonPath("$.documents_total").isEqualTo(2);

        Document guide = rag.lastIngest.get().getDocuments(0);
        assertThat(guide.getDocumentId()).isEqualTo("guide.md");
        assertThat(guide.getContentType()).isEqualTo("text/markdown");
        assertThat(guide.getContent().toStringUtf8()).isEqualTo(MARKDOWN);
        assertThat(guide.getMetadata().getFieldsOrThrow("team").getStringValue()).isEqualTo("ops");
        assertThat(rag.lastIngest.get().getDocuments(1).getContentType()).isEqualTo("text/html");
        assertThat(rag.lastIngest.get().getTenantId()).isEqualTo(tenant);

        MultipartBodyBuilder named = new MultipartBodyBuilder();
        named.part("file", file("a.txt", "alpha")).contentType(MediaType.TEXT_PLAIN);
        named.part("document_id", "alpha-doc");
        as(tenant, "rag:write").post().uri("/v1/rag/collections/docs/documents")
                .contentType(MediaType.MULTIPART_FORM_DATA).body(BodyInserters.fromMultipartData(named.build()))
                .exchange()
                .expectStatus().isAccepted();
        assertThat(rag.lastIngest.get().getDocuments(0).getDocumentId()).isEqualTo("alpha-doc");
    }

    @Test
    void uploadOfAnUntypedFileIs400NamingIt() {
        String tenant = newTenant();
        create(tenant, "docs");
        MultipartBodyBuilder parts = new MultipartBodyBuilder();
        parts.part("file", file("blob", "???")).contentType(MediaType.APPLICATION_OCTET_STREAM);
        as(tenant, "rag:write").post().uri("/v1/rag/collections/docs/documents")
                .contentType(MediaType.MULTIPART_FORM_DATA).body(BodyInserters.fromMultipartData(parts.build()))
                .exchange()
                .expectStatus().isBadRequest()
                .expectBody().jsonPath("$.error.param").isEqualTo("file[0]");
    }

    @Test
    void jsonDocumentsCarryTextOrBase64Content() {
        String tenant = newTenant();
        create(tenant, "docs");
        String pdf = Base64.getEncoder().encodeToString("%PDF-1.4".getBytes(StandardCharsets.US_ASCII));
        as(tenant, "rag:write").post().uri("/v1/rag/collections/docs/documents")
                .contentType(MediaType.APPLICATION_JSON)
                .bodyValue("{\"documents\": [{\"id\": \"n\", \"text\": \"plain words\", \"metadata\": {\"k\": 1}},"
                        + " {\"id\": \"p\", \"content\": \"" + pdf + "\", \"content_type\": \"application/pdf\"}]}")
                .exchange()
                .expectStatus().isAccepted();
        Document text = rag.lastIngest.get().getDocuments(0);
        assertThat(text.getContentType()).isEqualTo("text/plain");
        assertThat(text.getMetadata().getFieldsOrThrow("k").getNumberValue()).isEqualTo(1.0);
        assertThat(rag.lastIngest.get().getDocuments(1).getContent().toStringUtf8()).isEqualTo("%PDF-1.4");
    }

    @Test
    void badJsonDocumentsAre400NamingTheField() {
        String tenant = newTenant();
        WebTestClient writer = as(tenant, "rag:write");
        for (String[] bodyAndParam : new String[][] {
            {"{\"documents\": []}", "documents"},
            {"{\"documents\": [{\"id\": \"a\"}]}", "documents[0].text"},
            {"{\"documents\": [{\"text\": \"t\"}]}", "documents[0].id"},
            {"{\"documents\": [{\"id\": \"a\", \"content\": \"!!\", \"content_type\": \"application/pdf\"}]}",
                "documents[0].content"},
            {"{\"documents\": [{\"id\": \"a\", \"content\": \"YQ==\"}]}", "documents[0].content_type"},
            {"{\"documents\": [{\"id\": \"a\", \"text\": \"t\", \"metadata\": [1]}]}", "documents[0].metadata"},
        }) {
            writer.post().uri("/v1/rag/collections/docs/documents").contentType(MediaType.APPLICATION_JSON)
                    .bodyValue(bodyAndParam[0]).exchange()
                    .expectStatus().isBadRequest()
                    .expectBody().jsonPath("$.error.param").isEqualTo(bodyAndParam[1]);
        }
    }

    @Test
    void jobIsReadableByItsTenantOnlyAndItsEventsEndWithTheFinalState() {
        String tenant = newTenant();
        create(tenant, "docs");
        String job = as(tenant, "rag:write").post().uri("/v1/rag/collections/docs/documents")
                .contentType(MediaType.APPLICATION_JSON)
                .bodyValue("{\"documents\": [{\"id\": \"n\", \"text\": \"words\"}]}")
                .exchange().expectStatus().isAccepted()
                .expectBody(String.class).returnResult().getResponseBody().replaceAll(".*\"id\":\"([^\"]+)\".*", "$1");

        as(tenant, "rag:read").get().uri("/v1/rag/jobs/" + job).exchange()
                .expectStatus().isOk().expectBody().jsonPath("$.collection").isEqualTo("docs");
        as(newTenant(), "rag:read").get().uri("/v1/rag/jobs/" + job).exchange().expectStatus().isNotFound();

        String events = as(tenant, "rag:read").get().uri("/v1/rag/jobs/" + job + "/events").exchange()
                .expectStatus().isOk()
                .expectHeader().contentTypeCompatibleWith(MediaType.TEXT_EVENT_STREAM)
                .expectBody(String.class).returnResult().getResponseBody();
        assertThat(events.split("\n\n")).hasSize(4);
        assertThat(events.split("\n\n")[0]).contains("\"status\":\"queued\"", "\"queue_position\":1");
        assertThat(events.split("\n\n")[1]).contains("\"status\":\"running\"", "\"queue_position\":null");
        assertThat(events.split("\n\n")[2]).contains("\"status\":\"succeeded\"", "\"chunks_done\":2");
        assertThat(events).endsWith("data: [DONE]\n\n");
    }

    @Test
    void deletingADocumentAnswersTheDeletedObjectOr404ForAMissingCollection() {
        String tenant = newTenant();
        create(tenant, "docs");
        as(tenant, "rag:write").delete().uri("/v1/rag/collections/docs/documents/guide.md").exchange()
                .expectStatus().isOk()
                .expectBody().jsonPath("$.id").isEqualTo("guide.md").jsonPath("$.deleted").isEqualTo(true);
        as(tenant, "rag:write").delete().uri("/v1/rag/collections/none/documents/d").exchange()
                .expectStatus().isNotFound();
    }

    private void create(String tenant, String name) {
        as(tenant, "rag:write").post().uri("/v1/rag/collections").contentType(MediaType.APPLICATION_JSON)
                .bodyValue("{\"name\": \"" + name + "\"}").exchange().expectStatus().isCreated();
    }

    private static ByteArrayResource file(String name, String content) {
        return new ByteArrayResource(content.getBytes(StandardCharsets.UTF_8)) {
            @Override
            public String getFilename() {
                return name;
            }
        };
    }
}
