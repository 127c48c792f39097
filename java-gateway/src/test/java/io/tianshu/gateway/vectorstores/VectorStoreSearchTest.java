package io.tianshu.gateway.vectorstores;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import io.tianshu.gateway.rag.FakeRagService;
import io.tianshu.gateway.support.TestKeys;
import io.tianshu.rag.v1.ComparisonOperator;
import io.tianshu.rag.v1.CompoundOperator;
import io.tianshu.rag.v1.MetadataComparison;
import io.tianshu.rag.v1.MetadataCondition;
import io.tianshu.rag.v1.RetrievalMode;
import io.tianshu.rag.v1.SearchRequest;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.springframework.test.web.reactive.server.WebTestClient;

/**
 * Search: OpenAI's page from the RAG service's hits, its options and filters as the RAG
 * contract carries them, and each bad input as a 400 naming it. (The filters' SQL is the RAG
 * service's, tested there and across the stack.)
 */
class VectorStoreSearchTest extends VectorStoreGatewayTest {

    @Test
    void resultsAreOpenAisPageWithEachFilesNameAttributesAndText() {
        String tenant = newTenant();
        WebTestClient client = as(tenant, RW, RO);
        String a = document(client, "herons.md", "Herons wade in shallow water.");
        String b = document(client, "owls.md", "Owls hunt at night.");
        String storeId = store(client, "{\"file_ids\": [\"" + a + "\", \"" + b + "\"]}").get("id").asText();
        post(client, "/v1/vector_stores/" + storeId + "/files", "{\"file_id\": \"" + b + "\", \"attributes\": {}}")
                .expectStatus().isEqualTo(409);

        JsonNode page = json(post(client, "/v1/vector_stores/" + storeId + "/search", "{\"query\": \"wading birds\"}")
                .expectStatus().isOk());

        assertThat(page.get("object").asText()).isEqualTo("vector_store.search_results.page");
        assertThat(page.get("search_query").get(0).asText()).isEqualTo("wading birds");
        assertThat(page.get("has_more").asBoolean()).isFalse();
        assertThat(page.get("next_page").isNull()).isTrue();
        JsonNode first = page.get("data").get(0);
        assertThat(first.get("file_id").asText()).isEqualTo(a);
        assertThat(first.get("filename").asText()).isEqualTo("herons.md");
        assertThat(first.get("score").asDouble()).isEqualTo(0.9, org.assertj.core.data.Offset.offset(1e-6));
        assertThat(first.get("content").get(0).get("type").asText()).isEqualTo("text");
        assertThat(first.get("content").get(0).get("text").asText()).isEqualTo("Herons wade in shallow water.");
        assertThat(first.get("attributes").isObject()).isTrue();
        assertThat(page.get("data").get(1).get("file_id").asText()).isEqualTo(b);

        SearchRequest sent = rag.lastSearch.get();
        assertThat(sent.getTenantId()).isEqualTo(tenant);
        assertThat(sent.getCollectionId()).isEqualTo(storeId);
        assertThat(sent.getOptions().getMode()).isEqualTo(RetrievalMode.RETRIEVAL_MODE_HYBRID);
        assertThat(sent.getOptions().getTopK()).isEqualTo(10);
        assertThat(sent.getOptions().hasMetadataCondition()).isFalse();
        assertThat(sent.getOptions().getScoreThreshold()).isZero();
    }

    @Test
    void documentsPutIntoTheCollectionThroughRagRoutesAreNotResults() {
        WebTestClient client = owner();
        String a = document(client, "a.md", "Alpha");
        String storeId = store(client, "{\"file_ids\": [\"" + a + "\"]}").get("id").asText();
        post(client, "/v1/rag/collections/" + storeId + "/documents",
                "{\"documents\": [{\"id\": \"stray\", \"text\": \"Stray\"}]}").expectStatus().isAccepted();

        JsonNode page = json(post(client, "/v1/vector_stores/" + storeId + "/search", "{\"query\": \"x\"}"));

        assertThat(page.get("data")).hasSize(1);
        assertThat(page.get("data").get(0).get("file_id").asText()).isEqualTo(a);
    }

    @Test
    void optionsAndFiltersReachTheRagServiceAsItsContractSaysThem() {
        WebTestClient client = owner();
        String storeId = store(client, "{}").get("id").asText();
        post(client, "/v1/vector_stores/" + storeId + "/search", """
                {"query": ["herons", "egrets"], "max_num_results": 3, "rewrite_query": true,
                 "ranking_options": {"ranker": "none", "score_threshold": 0.4},
                 "filters": {"type": "or", "filters": [
                    {"type": "eq", "key": "team", "value": "birds"},
                    {"type": "and", "filters": [{"type": "gte", "key": "year", "value": 2020},
                                                {"type": "nin", "key": "tag", "value": ["x", 2]}]}]}}""")
                .expectStatus().isOk()
                .expectBody().jsonPath("$.search_query.length()").isEqualTo(2);

        SearchRequest sent = rag.lastSearch.get();
        assertThat(sent.getQuery()).isEqualTo("herons\negrets");
        assertThat(sent.getOptions().getTopK()).isEqualTo(3);
        assertThat(sent.getOptions().getMode()).isEqualTo(RetrievalMode.RETRIEVAL_MODE_VECTOR);
        assertThat(sent.getOptions().getScoreThreshold()).isEqualTo(0.4f);
        MetadataCondition condition = sent.getOptions().getMetadataCondition();
        assertThat(condition.getCompound().getOperator()).isEqualTo(CompoundOperator.COMPOUND_OPERATOR_OR);
        MetadataComparison team = condition.getCompound().getConditions(0).getComparison();
        assertThat(team.getOperator()).isEqualTo(ComparisonOperator.COMPARISON_OPERATOR_EQ);
        assertThat(team.getKey()).isEqualTo("team");
        assertThat(team.getValue().getStringValue()).isEqualTo("birds");
        List<MetadataCondition> inner = condition.getCompound().getConditions(1).getCompound().getConditionsList();
        assertThat(inner.get(0).getComparison().getOperator()).isEqualTo(ComparisonOperator.COMPARISON_OPERATOR_GTE);
        assertThat(inner.get(0).getComparison().getValue().getNumberValue()).isEqualTo(2020.0);
        assertThat(inner.get(1).getComparison().getOperator()).isEqualTo(ComparisonOperator.COMPARISON_OPERATOR_NIN);
        assertThat(inner.get(1).getComparison().getValue().getListValue().getValuesList())
                .extracting(v -> v.hasStringValue() ? v.getStringValue() : String.valueOf(v.getNumberValue()))
                .containsExactly("x", "2.0");

        post(client, "/v1/vector_stores/" + storeId + "/search",
                "{\"query\": \"q\", \"ranking_options\": {\"ranker\": \"default-2024-11-15\"}}").expectStatus().isOk();
        assertThat(rag.lastSearch.get().getOptions().getMode()).isEqualTo(RetrievalMode.RETRIEVAL_MODE_HYBRID);
    }

    @Test
    void badSearchesAre400NamingTheParameterAndReachNothing() {
        WebTestClient client = owner();
        String storeId = store(client, "{}").get("id").asText();
        String uri = "/v1/vector_stores/" + storeId + "/search";
        int searches = rag.searches.size();
        List<String[]> cases = List.of(
                new String[] {"{}", "query"},
                new String[] {"{\"query\": \"\"}", "query"},
                new String[] {"{\"query\": []}", "query"},
                new String[] {"{\"query\": [\"a\", 1]}", "query"},
                new String[] {"{\"query\": 7}", "query"},
                new String[] {"{\"query\": \"q\", \"max_num_results\": 0}", "max_num_results"},
                new String[] {"{\"query\": \"q\", \"max_num_results\": 51}", "max_num_results"},
                new String[] {"{\"query\": \"q\", \"ranking_options\": {\"score_threshold\": 1.5}}",
                    "ranking_options.score_threshold"},
                new String[] {"{\"query\": \"q\", \"ranking_options\": {\"score_threshold\": -0.1}}",
                    "ranking_options.score_threshold"},
                new String[] {"{\"query\": \"q\", \"ranking_options\": {\"ranker\": \"best\"}}",
                    "ranking_options.ranker"},
                new String[] {"{\"query\": \"q\", \"filters\": [1]}", "filters"},
                new String[] {"{\"query\": \"q\", \"filters\": {\"type\": \"like\", \"key\": \"a\", \"value\": 1}}",
                    "filters.type"},
                new String[] {"{\"query\": \"q\", \"filters\": {\"type\": \"eq\", \"value\": 1}}", "filters.key"},
                new String[] {"{\"query\": \"q\", \"filters\": {\"type\": \"eq\", \"key\": \"a\"}}", "filters.value"},
                new String[] {"{\"query\": \"q\", \"filters\": {\"type\": \"eq\", \"key\": \"a\", \"value\": {}}}",
                    "filters.value"},
                new String[] {"{\"query\": \"q\", \"filters\": {\"type\": \"gt\", \"key\": \"a\", \"value\": true}}",
                    "filters.value"},
                new String[] {"{\"query\": \"q\", \"filters\": {\"type\": \"in\", \"key\": \"a\", \"value\": \"x\"}}",
                    "filters.value"},
                new String[] {"{\"query\": \"q\", \"filters\": {\"type\": \"in\", \"key\": \"a\", \"value\": [true]}}",
                    "filters.value[0]"},
                new String[] {"{\"query\": \"q\", \"filters\": {\"type\": \"and\", \"filters\": []}}",
                    "filters.filters"},
                new String[] {"{\"query\": \"q\", \"filters\": {\"type\": \"or\", \"filters\": [{\"type\": \"eq\", "
                        + "\"key\": \"a\", \"value\": 1}, {\"type\": \"ne\", \"key\": \"\", \"value\": 1}]}}",
                    "filters.filters[1].key"});
        for (String[] c : cases) {
            JsonNode refused = error(post(client, uri, c[0]), 400);
            assertThat(refused.get("param").asText()).as(c[0]).isEqualTo(c[1]);
            assertThat(refused.get("type").asText()).isEqualTo("invalid_request_error");
        }
        assertThat(rag.searches).hasSize(searches);
    }

    @Test
    void aFilterTheRagServiceRefusesIs400NamingFilters() {
        WebTestClient client = owner();
        String storeId = store(client, "{}").get("id").asText();
        JsonNode refused = error(post(client, "/v1/vector_stores/" + storeId + "/search", """
                {"query": "q", "filters": {"type": "eq", "key": "%s", "value": 1}}""".formatted(
                FakeRagService.REFUSED_KEY)), 400);
        assertThat(refused.get("param").asText()).isEqualTo("filters");
        assertThat(refused.get("message").asText()).isEqualTo("Invalid filters: must have 1 to 128 characters.");
    }

    @Test
    void aSearchTakesOneRequestOfTheRateLimitsAndNeedsRagRead() {
        String tenant = TestKeys.tenant(tenants, 1, null, null);
        String storeId = store(as(tenant, RW), "{}").get("id").asText();
        WebTestClient reader = as(tenant, RO);
        post(reader, "/v1/vector_stores/" + storeId + "/search", "{\"query\": \"q\"}").expectStatus().isOk();
        JsonNode refused = error(post(reader, "/v1/vector_stores/" + storeId + "/search", "{\"query\": \"q\"}"), 429);
        assertThat(refused.get("message").asText()).contains("requests per minute");
        assertThat(error(post(as(newTenant(), RW), "/v1/vector_stores/" + storeId + "/search", "{\"query\": \"q\"}"),
                403).get("code").asText()).isEqualTo("insufficient_scope");
    }
}
