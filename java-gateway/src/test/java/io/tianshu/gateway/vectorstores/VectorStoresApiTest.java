package io.tianshu.gateway.vectorstores;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import io.tianshu.rag.v1.Collection;
import io.tianshu.rag.v1.IngestJobState;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.springframework.test.web.reactive.server.WebTestClient;

/** Vector stores themselves: OpenAI's object, cursor pagination, tenancy, and the RAG collection behind each. */
class VectorStoresApiTest extends VectorStoreGatewayTest {

    @Test
    void aStoreHasOpenAisShapeAndIsOneRagCollectionNamedByItsId() {
        String tenant = newTenant();
        WebTestClient client = as(tenant, RW, RO);
        JsonNode store = store(client, """
                {"name": "Handbook", "metadata": {"team": "ops"}, "expires_after": {"anchor": "last_active_at", "days": 7}}""");

        String id = store.get("id").asText();
        assertThat(id).matches("vs_[A-Za-z0-9]{24}");
        assertThat(store.get("object").asText()).isEqualTo("vector_store");
        assertThat(store.get("name").asText()).isEqualTo("Handbook");
        assertThat(store.get("metadata").get("team").asText()).isEqualTo("ops");
        assertThat(store.get("status").asText()).isEqualTo("completed");
        assertThat(store.get("usage_bytes").asLong()).isZero();
        assertThat(store.get("created_at").asLong()).isPositive();
        assertThat(store.get("last_active_at").asLong()).isGreaterThanOrEqualTo(store.get("created_at").asLong());
        assertThat(store.get("expires_after").isNull()).as("expires_after is ignored").isTrue();
        assertThat(store.get("expires_at").isNull()).isTrue();
        JsonNode counts = store.get("file_counts");
        for (String field : List.of("in_progress", "completed", "failed", "cancelled", "total")) {
            assertThat(counts.get(field).asLong()).as(field).isZero();
        }
        assertThat(rag.collectionsOf(tenant)).extracting(Collection::getCollectionId).containsExactly(id);
        assertThat(rag.collectionsOf(tenant).get(0).getDescription()).isEqualTo("Handbook");

        assertThat(json(client.get().uri("/v1/vector_stores/" + id).exchange().expectStatus().isOk()))
                .isEqualTo(store);
    }

    @Test
    void updateChangesWhatIsGivenAndDeleteTakesTheCollectionWithIt() {
        String tenant = newTenant();
        WebTestClient client = as(tenant, RW, RO);
        String id = store(client, "{\"name\": \"old\", \"metadata\": {\"a\": \"1\"}}").get("id").asText();

        JsonNode renamed = json(post(client, "/v1/vector_stores/" + id, "{\"name\": \"new\"}").expectStatus().isOk());
        assertThat(renamed.get("name").asText()).isEqualTo("new");
        assertThat(renamed.get("metadata").get("a").asText()).isEqualTo("1");
        JsonNode retagged = json(post(client, "/v1/vector_stores/" + id, "{\"metadata\": {\"b\": \"2\"}}")
                .expectStatus().isOk());
        assertThat(retagged.get("name").asText()).isEqualTo("new");
        assertThat(retagged.get("metadata").has("a")).isFalse();
        assertThat(retagged.get("metadata").get("b").asText()).isEqualTo("2");

        client.delete().uri("/v1/vector_stores/" + id).exchange().expectStatus().isOk().expectBody()
                .jsonPath("$.id").isEqualTo(id).jsonPath("$.object").isEqualTo("vector_store.deleted")
                .jsonPath("$.deleted").isEqualTo(true);
        assertThat(rag.collectionsOf(tenant)).isEmpty();
        error(client.get().uri("/v1/vector_stores/" + id).exchange(), 404);
    }

    @Test
    void listPagesWithOpenAisCursors() {
        WebTestClient client = owner();
        List<String> created = new ArrayList<>();
        for (int i = 0; i < 5; i++) {
            created.add(store(client, "{\"name\": \"s" + i + "\"}").get("id").asText());
        }
        List<String> newestFirst = new ArrayList<>(created);
        java.util.Collections.reverse(newestFirst);

        JsonNode first = json(client.get().uri("/v1/vector_stores?limit=2").exchange().expectStatus().isOk());
        assertThat(first.get("object").asText()).isEqualTo("list");
        assertThat(ids(first)).containsExactlyElementsOf(newestFirst.subList(0, 2));
        assertThat(first.get("first_id").asText()).isEqualTo(newestFirst.get(0));
        assertThat(first.get("last_id").asText()).isEqualTo(newestFirst.get(1));
        assertThat(first.get("has_more").asBoolean()).isTrue();
        assertThat(first.get("data").get(0).get("object").asText()).isEqualTo("vector_store");

        JsonNode next = json(client.get().uri("/v1/vector_stores?limit=2&after=" + newestFirst.get(1)).exchange());
        assertThat(ids(next)).containsExactlyElementsOf(newestFirst.subList(2, 4));
        JsonNode last = json(client.get().uri("/v1/vector_stores?limit=2&after=" + newestFirst.get(3)).exchange());
        assertThat(ids(last)).containsExactly(newestFirst.get(4));
        assertThat(last.get("has_more").asBoolean()).isFalse();

        // before: the page just before the cursor, in the order asked for.
        JsonNode back = json(client.get().uri("/v1/vector_stores?limit=2&before=" + newestFirst.get(3)).exchange());
        assertThat(ids(back)).containsExactlyElementsOf(newestFirst.subList(1, 3));
        assertThat(back.get("has_more").asBoolean()).isTrue();
        JsonNode oldest = json(client.get().uri("/v1/vector_stores?order=asc&limit=3").exchange());
        assertThat(ids(oldest)).containsExactlyElementsOf(created.subList(0, 3));
        JsonNode ascAfter = json(client.get().uri("/v1/vector_stores?order=asc&after=" + created.get(3)).exchange());
        assertThat(ids(ascAfter)).containsExactly(created.get(4));

        JsonNode empty = json(client.get().uri("/v1/vector_stores?after=vs_unknown").exchange().expectStatus().isOk());
        assertThat(empty.get("data")).isEmpty();
        assertThat(empty.get("first_id").isNull()).isTrue();
    }

    @Test
    void badListParametersAre400NamingThem() {
        WebTestClient client = owner();
        assertThat(error(client.get().uri("/v1/vector_stores?limit=0").exchange(), 400).get("param").asText())
                .isEqualTo("limit");
        assertThat(error(client.get().uri("/v1/vector_stores?limit=101").exchange(), 400).get("param").asText())
                .isEqualTo("limit");
        assertThat(error(client.get().uri("/v1/vector_stores?order=sideways").exchange(), 400).get("param").asText())
                .isEqualTo("order");
    }

    @Test
    void anotherTenantsStoreIs404LikeOneThatDoesNotExistAndNothingReachesRag() {
        WebTestClient owner = owner();
        String id = store(owner, "{\"name\": \"mine\"}").get("id").asText();
        WebTestClient stranger = owner();
        int searches = rag.searches.size();

        for (WebTestClient.ResponseSpec response : List.of(
                stranger.get().uri("/v1/vector_stores/" + id).exchange(),
                post(stranger, "/v1/vector_stores/" + id, "{\"name\": \"theirs\"}"),
                stranger.delete().uri("/v1/vector_stores/" + id).exchange(),
                post(stranger, "/v1/vector_stores/" + id + "/search", "{\"query\": \"q\"}"),
                stranger.get().uri("/v1/vector_stores/" + id + "/files").exchange(),
                post(stranger, "/v1/vector_stores/" + id + "/files", "{\"file_id\": \"file-x\"}"),
                post(stranger, "/v1/vector_stores/" + id + "/file_batches", "{\"file_ids\": [\"file-x\"]}"))) {
            JsonNode refused = error(response, 404);
            assertThat(refused.get("message").asText()).isEqualTo("No vector store found with id '" + id + "'.");
            assertThat(refused.get("type").asText()).isEqualTo("invalid_request_error");
        }
        error(stranger.get().uri("/v1/vector_stores/vs_doesnotexist").exchange(), 404);
        assertThat(rag.searches).hasSize(searches);
        assertThat(ids(json(stranger.get().uri("/v1/vector_stores").exchange()))).isEmpty();
        owner.get().uri("/v1/vector_stores/" + id).exchange().expectStatus().isOk()
                .expectBody().jsonPath("$.name").isEqualTo("mine");
    }

    @Test
    void scopesAreRagReadToReadAndRagWriteToChange() {
        String tenant = newTenant();
        String id = store(as(tenant, RW), "{}").get("id").asText();
        as(tenant, RO).get().uri("/v1/vector_stores/" + id).exchange().expectStatus().isOk();
        as(tenant, RO).get().uri("/v1/vector_stores").exchange().expectStatus().isOk();
        assertThat(error(post(as(tenant, RO), "/v1/vector_stores", "{}"), 403).get("code").asText())
                .isEqualTo("insufficient_scope");
        error(as(tenant, RO).delete().uri("/v1/vector_stores/" + id).exchange(), 403);
        error(as(tenant, RW).get().uri("/v1/vector_stores/" + id).exchange(), 403);
        error(as(tenant, "chat").get().uri("/v1/vector_stores").exchange(), 403);
    }

    @Test
    void badStoreBodiesAre400NamingTheField() {
        WebTestClient client = owner();
        StringBuilder many = new StringBuilder("{");
        for (int i = 0; i < 17; i++) {
            many.append(i == 0 ? "" : ", ").append("\"k").append(i).append("\": \"v\"");
        }
        many.append('}');
        assertThat(error(post(client, "/v1/vector_stores", "{\"metadata\": " + many + "}"), 400).get("param").asText())
                .isEqualTo("metadata");
        assertThat(error(post(client, "/v1/vector_stores", "{\"metadata\": {\"k\": \"" + "v".repeat(513) + "\"}}"), 400)
                .get("param").asText()).isEqualTo("metadata");
        assertThat(error(post(client, "/v1/vector_stores", "{\"name\": \"" + "n".repeat(257) + "\"}"), 400)
                .get("param").asText()).isEqualTo("name");
        assertThat(error(post(client, "/v1/vector_stores", "{\"file_ids\": [\"file-nope\"]}"), 404)
                .get("param").asText()).isEqualTo("file_ids[0]");
        assertThat(error(post(client, "/v1/vector_stores", "{\"file_ids\": \"file-x\"}"), 400).get("param").asText())
                .isEqualTo("file_ids");
    }

    @Test
    void aStoreIsInProgressWhileAnyFileIsAndCountsItsFilesByStatus() {
        String tenant = newTenant();
        WebTestClient client = as(tenant, RW, RO);
        String a = document(client, "a.md", "# A\n\nAlpha.");
        String b = document(client, "b.md", "# B\n\nBeta, longer.");
        JsonNode store = store(client, "{\"name\": \"two\", \"file_ids\": [\"" + a + "\", \"" + b + "\"]}");
        String id = store.get("id").asText();
        assertThat(store.get("status").asText()).isEqualTo("in_progress");
        assertThat(store.get("file_counts").get("in_progress").asLong()).isEqualTo(2);
        assertThat(store.get("file_counts").get("total").asLong()).isEqualTo(2);
        assertThat(rag.lastIngest.get().getDocumentsList()).extracting(d -> d.getDocumentId())
                .containsExactly(a, b);

        finishLastJob(id, IngestJobState.INGEST_JOB_STATE_SUCCEEDED, "");

        JsonNode done = json(client.get().uri("/v1/vector_stores/" + id).exchange().expectStatus().isOk());
        assertThat(done.get("status").asText()).isEqualTo("completed");
        assertThat(done.get("file_counts").get("completed").asLong()).isEqualTo(2);
        assertThat(done.get("file_counts").get("in_progress").asLong()).isZero();
        assertThat(done.get("usage_bytes").asLong()).isEqualTo("# A\n\nAlpha.".length() + "# B\n\nBeta, longer.".length());
        // The list shows the same counts.
        assertThat(json(client.get().uri("/v1/vector_stores").exchange()).get("data").get(0)).isEqualTo(done);
    }
}
