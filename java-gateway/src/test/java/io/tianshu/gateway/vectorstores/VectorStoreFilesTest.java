package io.tianshu.gateway.vectorstores;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import io.tianshu.gateway.rag.FakeRagService;
import io.tianshu.gateway.support.TestKeys;
import io.tianshu.rag.v1.Document;
import io.tianshu.rag.v1.IngestDocumentsRequest;
import io.tianshu.rag.v1.IngestJobState;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.springframework.beans.factory.annotation.Autowired;
import org.springframework.jdbc.core.JdbcTemplate;
import org.springframework.test.web.reactive.server.WebTestClient;

/**
 * Files of a store: each is the RAG document of the same id, its attributes the document's
 * metadata, its status its ingest job's; and every way of adding one that must be refused.
 */
class VectorStoreFilesTest extends VectorStoreGatewayTest {

    @Autowired
    JdbcTemplate jdbc;

    @Test
    void anAddedFileIsTheRagDocumentOfItsIdWithItsAttributesAsMetadata() {
        String tenant = newTenant();
        WebTestClient client = as(tenant, RW, RO);
        String storeId = store(client, "{}").get("id").asText();
        String fileId = document(client, "guide.md", "# Guide\n\nHerons wade.");

        JsonNode file = json(post(client, "/v1/vector_stores/" + storeId + "/files", """
                {"file_id": "%s", "attributes": {"team": "birds", "year": 2024, "public": true, "ratio": 0.5}}"""
                .formatted(fileId)).expectStatus().isOk());

        assertThat(file.get("id").asText()).isEqualTo(fileId);
        assertThat(file.get("object").asText()).isEqualTo("vector_store.file");
        assertThat(file.get("vector_store_id").asText()).isEqualTo(storeId);
        assertThat(file.get("status").asText()).isEqualTo("in_progress");
        assertThat(file.get("usage_bytes").asLong()).isZero();
        assertThat(file.get("last_error").isNull()).isTrue();
        assertThat(file.get("created_at").asLong()).isPositive();
        assertThat(file.get("attributes").get("year").asInt()).isEqualTo(2024);
        assertThat(file.get("attributes").get("public").asBoolean()).isTrue();
        assertThat(file.get("chunking_strategy").get("type").asText()).isEqualTo("other");

        IngestDocumentsRequest sent = rag.lastIngest.get();
        assertThat(sent.getTenantId()).isEqualTo(tenant);
        assertThat(sent.getCollectionId()).isEqualTo(storeId);
        assertThat(sent.hasChunking()).as("auto leaves the service's sizes").isFalse();
        Document document = sent.getDocuments(0);
        assertThat(document.getDocumentId()).isEqualTo(fileId);
        assertThat(document.getContentType()).isEqualTo("text/markdown");
        assertThat(document.getContent().toStringUtf8()).isEqualTo("# Guide\n\nHerons wade.");
        assertThat(document.getMetadata().getFieldsMap().get("team").getStringValue()).isEqualTo("birds");
        assertThat(document.getMetadata().getFieldsMap().get("year").getNumberValue()).isEqualTo(2024.0);
        assertThat(document.getMetadata().getFieldsMap().get("public").getBoolValue()).isTrue();

        finishLastJob(storeId, IngestJobState.INGEST_JOB_STATE_SUCCEEDED, "");
        JsonNode done = json(client.get().uri("/v1/vector_stores/" + storeId + "/files/" + fileId).exchange()
                .expectStatus().isOk());
        assertThat(done.get("status").asText()).isEqualTo("completed");
        assertThat(done.get("usage_bytes").asLong()).isEqualTo("# Guide\n\nHerons wade.".length());
    }

    @Test
    void aFailedJobFailsItsFilesWithTheJobsErrorAndAFailedFileMayBeAddedAgain() {
        WebTestClient client = owner();
        String fileId = document(client, "a.md", "# A");
        String storeId = storeWith(client, fileId);
        finishLastJob(storeId, IngestJobState.INGEST_JOB_STATE_FAILED, "inference service unavailable");

        JsonNode failed = json(client.get().uri("/v1/vector_stores/" + storeId + "/files/" + fileId).exchange());
        assertThat(failed.get("status").asText()).isEqualTo("failed");
        assertThat(failed.get("last_error").get("code").asText()).isEqualTo("server_error");
        assertThat(failed.get("last_error").get("message").asText()).isEqualTo("inference service unavailable");
        JsonNode store = json(client.get().uri("/v1/vector_stores/" + storeId).exchange());
        assertThat(store.get("status").asText()).isEqualTo("completed");
        assertThat(store.get("file_counts").get("failed").asLong()).isEqualTo(1);

        JsonNode again = json(post(client, "/v1/vector_stores/" + storeId + "/files", "{\"file_id\": \"" + fileId
                + "\"}").expectStatus().isOk());
        assertThat(again.get("status").asText()).isEqualTo("in_progress");
        assertThat(again.get("last_error").isNull()).isTrue();
    }

    @Test
    void aJobTheRagServiceNoLongerKnowsFailsItsFiles() {
        WebTestClient client = owner();
        String fileId = document(client, "a.md", "# A");
        String storeId = storeWith(client, fileId);
        rag.forget(rag.lastJob(storeId));

        JsonNode file = json(client.get().uri("/v1/vector_stores/" + storeId + "/files/" + fileId).exchange());
        assertThat(file.get("status").asText()).isEqualTo("failed");
        assertThat(file.get("last_error").get("message").asText()).contains("no longer knows ingest job");
    }

    @Test
    void aDocumentTheRagServiceCannotReadFailsAloneAndTheOthersAreSent() {
        WebTestClient client = owner();
        String storeId = store(client, "{}").get("id").asText();
        String good = document(client, "good.md", "# Good");
        String bad = document(client, "bad.md", FakeRagService.UNREADABLE + " garbage");
        String other = document(client, "other.md", "# Other");

        JsonNode batch = json(post(client, "/v1/vector_stores/" + storeId + "/file_batches",
                "{\"file_ids\": [\"" + good + "\", \"" + bad + "\", \"" + other + "\"]}").expectStatus().isOk());

        assertThat(batch.get("object").asText()).isEqualTo("vector_store.files_batch");
        assertThat(batch.get("id").asText()).matches("vsfb_[A-Za-z0-9]{24}");
        assertThat(batch.get("vector_store_id").asText()).isEqualTo(storeId);
        assertThat(batch.get("status").asText()).isEqualTo("in_progress");
        assertThat(batch.get("file_counts").get("in_progress").asLong()).isEqualTo(2);
        assertThat(batch.get("file_counts").get("failed").asLong()).isEqualTo(1);
        assertThat(batch.get("file_counts").get("total").asLong()).isEqualTo(3);
        assertThat(rag.lastIngest.get().getDocumentsList()).extracting(Document::getDocumentId)
                .containsExactly(good, other);
        JsonNode refused = json(client.get().uri("/v1/vector_stores/" + storeId + "/files/" + bad).exchange());
        assertThat(refused.get("status").asText()).isEqualTo("failed");
        assertThat(refused.get("last_error").get("code").asText()).isEqualTo("invalid_file");
        assertThat(refused.get("last_error").get("message").asText()).isEqualTo("document '" + bad
                + "': cannot read it");

        finishLastJob(storeId, IngestJobState.INGEST_JOB_STATE_SUCCEEDED, "");
        String batchId = batch.get("id").asText();
        JsonNode done = json(client.get().uri("/v1/vector_stores/" + storeId + "/file_batches/" + batchId).exchange());
        assertThat(done.get("status").asText()).isEqualTo("completed");
        assertThat(done.get("file_counts").get("completed").asLong()).isEqualTo(2);
        JsonNode listed = json(client.get().uri("/v1/vector_stores/" + storeId + "/file_batches/" + batchId
                + "/files?filter=completed&order=asc").exchange().expectStatus().isOk());
        assertThat(ids(listed)).containsExactly(good, other);
    }

    @Test
    void aBatchOfOnlyUnreadableDocumentsSendsNothingAndFails() {
        WebTestClient client = owner();
        String storeId = store(client, "{}").get("id").asText();
        String bad = document(client, "bad.md", FakeRagService.UNREADABLE);
        JsonNode batch = json(post(client, "/v1/vector_stores/" + storeId + "/file_batches",
                "{\"files\": [{\"file_id\": \"" + bad + "\", \"attributes\": {\"k\": \"v\"}}]}").expectStatus().isOk());
        assertThat(batch.get("status").asText()).isEqualTo("failed");
        assertThat(rag.lastJob(storeId)).isNull();
    }

    @Test
    void listFiltersByStatusAndPagesWithCursors() {
        WebTestClient client = owner();
        String storeId = store(client, "{}").get("id").asText();
        List<String> added = new ArrayList<>();
        for (int i = 0; i < 3; i++) {
            String fileId = document(client, "f" + i + ".md", "# F" + i);
            post(client, "/v1/vector_stores/" + storeId + "/files", "{\"file_id\": \"" + fileId + "\"}")
                    .expectStatus().isOk();
            added.add(fileId);
            if (i == 0) {
                finishLastJob(storeId, IngestJobState.INGEST_JOB_STATE_SUCCEEDED, "");
            }
        }
        JsonNode page = json(client.get().uri("/v1/vector_stores/" + storeId + "/files?limit=2").exchange()
                .expectStatus().isOk());
        assertThat(ids(page)).containsExactly(added.get(2), added.get(1));
        assertThat(page.get("has_more").asBoolean()).isTrue();
        assertThat(page.get("last_id").asText()).isEqualTo(added.get(1));
        assertThat(ids(json(client.get().uri("/v1/vector_stores/" + storeId + "/files?after=" + added.get(1))
                .exchange()))).containsExactly(added.get(0));
        assertThat(ids(json(client.get().uri("/v1/vector_stores/" + storeId + "/files?filter=completed")
                .exchange()))).containsExactly(added.get(0));
        assertThat(ids(json(client.get().uri("/v1/vector_stores/" + storeId + "/files?filter=in_progress&order=asc")
                .exchange()))).containsExactly(added.get(1), added.get(2));
        assertThat(error(client.get().uri("/v1/vector_stores/" + storeId + "/files?filter=done").exchange(), 400)
                .get("param").asText()).isEqualTo("filter");
    }

    @Test
    void deletingAFileRemovesItsDocumentAndTheUploadStays() {
        String tenant = newTenant();
        WebTestClient client = as(tenant, RW, RO);
        String fileId = document(client, "a.md", "# A");
        String storeId = storeWith(client, fileId);

        client.delete().uri("/v1/vector_stores/" + storeId + "/files/" + fileId).exchange().expectStatus().isOk()
                .expectBody().jsonPath("$.id").isEqualTo(fileId)
                .jsonPath("$.object").isEqualTo("vector_store.file.deleted").jsonPath("$.deleted").isEqualTo(true);

        assertThat(rag.deletions).contains(tenant + "/" + storeId + "/" + fileId);
        error(client.get().uri("/v1/vector_stores/" + storeId + "/files/" + fileId).exchange(), 404);
        error(client.delete().uri("/v1/vector_stores/" + storeId + "/files/" + fileId).exchange(), 404);
        client.get().uri("/v1/files/" + fileId).exchange().expectStatus().isOk();
    }

    @Test
    void addingWhatCannotBeAddedIsRefusedNamingTheParameter() {
        String tenant = newTenant();
        WebTestClient client = as(tenant, RW, RO, "batch");
        String storeId = store(client, "{}").get("id").asText();
        String files = "/v1/vector_stores/" + storeId + "/files";

        JsonNode unknown = error(post(client, files, "{\"file_id\": \"file-nope\"}"), 404);
        assertThat(unknown.get("param").asText()).isEqualTo("file_id");
        assertThat(unknown.get("message").asText()).isEqualTo("No such File object: file-nope");
        String theirs = document(owner(), "theirs.md", "# Theirs");
        assertThat(error(post(client, files, "{\"file_id\": \"" + theirs + "\"}"), 404).get("message").asText())
                .isEqualTo("No such File object: " + theirs);
        assertThat(error(post(client, files, "{}"), 400).get("param").asText()).isEqualTo("file_id");

        String fileId = document(client, "a.md", "# A");
        post(client, files, "{\"file_id\": \"" + fileId + "\"}").expectStatus().isOk();
        JsonNode duplicate = error(post(client, files, "{\"file_id\": \"" + fileId + "\"}"), 409);
        assertThat(duplicate.get("param").asText()).isEqualTo("file_id");
        assertThat(duplicate.get("code").asText()).isEqualTo("file_already_attached");
        assertThat(error(post(client, "/v1/vector_stores/" + storeId + "/file_batches",
                "{\"file_ids\": [\"" + fileId + "\"]}"), 409).get("param").asText()).isEqualTo("file_ids[0]");
        String other = document(client, "b.md", "# B");
        assertThat(error(post(client, "/v1/vector_stores/" + storeId + "/file_batches",
                "{\"file_ids\": [\"" + other + "\", \"" + other + "\"]}"), 400).get("param").asText())
                .isEqualTo("file_ids[1]");
        assertThat(error(post(client, "/v1/vector_stores/" + storeId + "/file_batches",
                "{\"file_ids\": [\"" + other + "\"], \"files\": [{\"file_id\": \"" + other + "\"}]}"), 400)
                .get("param").asText()).isEqualTo("files");
        assertThat(error(post(client, "/v1/vector_stores/" + storeId + "/file_batches", "{}"), 400)
                .get("param").asText()).isEqualTo("file_ids");
        assertThat(error(post(client, "/v1/vector_stores/" + storeId + "/file_batches", """
                {"files": [{"file_id": "%s"}, {"file_id": "%s", "chunking_strategy": {"type": "static",
                 "static": {"max_chunk_size_tokens": 200, "chunk_overlap_tokens": 0}}}]}""".formatted(other,
                document(client, "c.md", "# C"))), 400).get("param").asText()).isEqualTo("files[1].chunking_strategy");
        error(client.get().uri("/v1/vector_stores/" + storeId + "/file_batches/vsfb_nope").exchange(), 404);
    }

    @Test
    void aBatchFileIsNotADocument() {
        String tenant = newTenant();
        WebTestClient client = as(tenant, RW, RO);
        String storeId = store(client, "{}").get("id").asText();
        String batchFile = "file-" + "B".repeat(24);
        jdbc.update("INSERT INTO batch_file (id, tenant_id, purpose, filename, bytes, line_count, content) "
                + "VALUES (?, ?, 'batch', 'in.jsonl', 2, 1, ?)", batchFile, tenant, "{}".getBytes(StandardCharsets.UTF_8));

        JsonNode refused = error(post(client, "/v1/vector_stores/" + storeId + "/files",
                "{\"file_id\": \"" + batchFile + "\"}"), 400);
        assertThat(refused.get("param").asText()).isEqualTo("file_id");
        assertThat(refused.get("message").asText()).isEqualTo("File " + batchFile + " has purpose 'batch'; only "
                + "files uploaded with purpose \"assistants\" can be added to a vector store.");
        assertThat(error(post(client, "/v1/vector_stores", "{\"file_ids\": [\"" + batchFile + "\"]}"), 400)
                .get("param").asText()).isEqualTo("file_ids[0]");
        assertThat(rag.collectionsOf(tenant)).hasSize(1);
    }

    @Test
    void badAttributesAndChunkingStrategiesAre400NamingTheField() {
        WebTestClient client = owner();
        String storeId = store(client, "{}").get("id").asText();
        String files = "/v1/vector_stores/" + storeId + "/files";
        String fileId = document(client, "a.md", "# A");
        StringBuilder many = new StringBuilder("{");
        for (int i = 0; i < 17; i++) {
            many.append(i == 0 ? "" : ", ").append("\"k").append(i).append("\": ").append(i);
        }
        many.append('}');
        List<String[]> cases = List.of(
                new String[] {"\"attributes\": " + many, "attributes"},
                new String[] {"\"attributes\": {\"" + "k".repeat(65) + "\": 1}", "attributes"},
                new String[] {"\"attributes\": {\"nested\": {\"a\": 1}}", "attributes.nested"},
                new String[] {"\"attributes\": {\"list\": [1]}", "attributes.list"},
                new String[] {"\"attributes\": {\"long\": \"" + "v".repeat(513) + "\"}", "attributes.long"},
                new String[] {"\"attributes\": [1]", "attributes"},
                new String[] {"\"attributes\": {\"nul\": \"a\\u0000b\"}", "attributes.nul"},
                new String[] {"\"chunking_strategy\": {\"type\": \"semantic\"}", "chunking_strategy.type"},
                new String[] {"\"chunking_strategy\": {\"type\": \"static\"}",
                    "chunking_strategy.static.max_chunk_size_tokens"},
                new String[] {"\"chunking_strategy\": {\"type\": \"static\", \"static\": {\"max_chunk_size_tokens\": 99,"
                        + " \"chunk_overlap_tokens\": 0}}", "chunking_strategy.static.max_chunk_size_tokens"},
                new String[] {"\"chunking_strategy\": {\"type\": \"static\", \"static\": {\"max_chunk_size_tokens\": 200,"
                        + " \"chunk_overlap_tokens\": 101}}", "chunking_strategy.static.chunk_overlap_tokens"});
        int ingests = rag.ingests.size();
        for (String[] c : cases) {
            JsonNode refused = error(post(client, files, "{\"file_id\": \"" + fileId + "\", " + c[0] + "}"), 400);
            assertThat(refused.get("param").asText()).as(c[0]).isEqualTo(c[1]);
        }
        assertThat(rag.ingests).hasSize(ingests);
        client.get().uri(files).exchange().expectBody().jsonPath("$.data.length()").isEqualTo(0);
    }

    @Test
    void aStaticChunkingStrategyIsSentAndOneTheServiceCannotHonourIs400() {
        WebTestClient client = owner();
        String storeId = store(client, "{}").get("id").asText();
        String files = "/v1/vector_stores/" + storeId + "/files";
        String fileId = document(client, "a.md", "# A");

        JsonNode file = json(post(client, files, """
                {"file_id": "%s", "chunking_strategy": {"type": "static", "static": {"max_chunk_size_tokens": 200,
                 "chunk_overlap_tokens": 40}}}""".formatted(fileId)).expectStatus().isOk());
        assertThat(file.get("chunking_strategy").get("type").asText()).isEqualTo("static");
        assertThat(file.get("chunking_strategy").get("static").get("max_chunk_size_tokens").asInt()).isEqualTo(200);
        assertThat(file.get("chunking_strategy").get("static").get("chunk_overlap_tokens").asInt()).isEqualTo(40);
        assertThat(rag.lastIngest.get().getChunking().getMaxChunkTokens()).isEqualTo(200);
        assertThat(rag.lastIngest.get().getChunking().getOverlapTokens()).isEqualTo(40);

        String big = document(client, "b.md", "# B");
        JsonNode refused = error(post(client, files, """
                {"file_id": "%s", "chunking_strategy": {"type": "static", "static": {"max_chunk_size_tokens": 800,
                 "chunk_overlap_tokens": 400}}}""".formatted(big)), 400);
        assertThat(refused.get("param").asText()).isEqualTo("chunking_strategy");
        assertThat(refused.get("message").asText()).contains("chunking.max_chunk_tokens")
                .contains(String.valueOf(FakeRagService.MAX_CHUNK_TOKENS));
        error(client.get().uri(files + "/" + big).exchange(), 404);
    }

    @Test
    void addingFilesCountsAgainstTheIngestionQuotaAndAStoreThatCannotTakeItsFilesIsNotKept() {
        String tenant = TestKeys.tenant(tenants, null, null, null, 10L);
        WebTestClient client = as(tenant, RW, RO);
        String storeId = store(client, "{}").get("id").asText();
        String fileId = document(client, "big.md", "# A document of more than ten bytes");

        JsonNode refused = error(post(client, "/v1/vector_stores/" + storeId + "/files",
                "{\"file_id\": \"" + fileId + "\"}"), 429);
        assertThat(refused.get("code").asText()).isEqualTo("ingestion_quota_exceeded");
        client.get().uri("/v1/vector_stores/" + storeId + "/files").exchange().expectBody()
                .jsonPath("$.data.length()").isEqualTo(0);
        assertThat(rag.ingestsOf(tenant)).extracting(IngestDocumentsRequest::getMaxEmbeddingTokens)
                .containsExactly(10L);

        error(post(client, "/v1/vector_stores", "{\"name\": \"x\", \"file_ids\": [\"" + fileId + "\"]}"), 429);
        JsonNode stores = json(client.get().uri("/v1/vector_stores").exchange());
        assertThat(stores.get("data")).hasSize(1);
        assertThat(rag.collectionsOf(tenant)).hasSize(1);
        error(post(client, "/v1/vector_stores/" + storeId + "/file_batches", "{\"file_ids\": [\"" + fileId + "\"]}"),
                429);
    }

}
