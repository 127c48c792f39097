package io.tianshu.gateway.rag;

import static org.assertj.core.api.Assertions.assertThat;

import io.tianshu.gateway.auth.KeyStore;
import io.tianshu.gateway.config.DynamicConfig;
import io.tianshu.gateway.support.TestJwts;
import io.tianshu.gateway.support.TestKeys;
import io.tianshu.rag.v1.IngestDocumentsRequest;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.springframework.beans.factory.annotation.Autowired;
import org.springframework.core.io.ByteArrayResource;
import org.springframework.http.HttpHeaders;
import org.springframework.http.MediaType;
import org.springframework.http.client.MultipartBodyBuilder;
import org.springframework.jdbc.core.JdbcTemplate;
import org.springframework.test.web.reactive.server.EntityExchangeResult;
import org.springframework.test.web.reactive.server.WebTestClient;
import org.springframework.web.reactive.function.BodyInserters;

/**
 * Uploads count against the tenant's ingestion quota (ingest_tokens_per_day) and its limits,
 * whichever store holds the buckets (a subclass per store). The fake RAG service counts one
 * embedding token per byte of content and refuses an upload over max_embedding_tokens as the
 * real one does; the quota refills over a day, so within a test its level moves by a hundredth
 * of a token per second at most and every count below is exact.
 */
abstract class IngestQuotaTest extends RagGatewayTest {

    @Autowired
    DynamicConfig dynamic;
    @Autowired
    JdbcTemplate jdbc;

    @Test
    void whatIsLeftOfTheQuotaIsTheMostAnUploadMayNeedAndEachAcceptedUploadUsesItUp() {
        String tenant = tenant(1000L);
        WebTestClient writer = as(tenant, "rag:write");
        collection(writer);

        upload(writer, 300).expectStatus().isAccepted()
                .expectBody().jsonPath("$.status").isEqualTo("queued").jsonPath("$.embedding_tokens").isEqualTo(300);
        uploadMultipart(writer, 200).expectStatus().isAccepted();
        upload(writer, 10).expectStatus().isAccepted();

        assertThat(rag.ingestsOf(tenant)).extracting(IngestDocumentsRequest::getMaxEmbeddingTokens)
                .containsExactly(1000L, 700L, 500L);
    }

    @Test
    void aTenantWithoutAQuotaSetsNoLimitAndTheDynamicConfigCanGiveItOne() {
        String tenant = tenant(null);
        WebTestClient writer = as(tenant, "rag:write");
        collection(writer);

        upload(writer, 300).expectStatus().isAccepted();
        dynamic.apply("tianshu.dynamic.limits.tenants." + tenant + ".ingest-tokens-per-day: 500");
        try {
            upload(writer, 300).expectStatus().isAccepted();
            upload(writer, 300).expectStatus().isEqualTo(429);
        } finally {
            dynamic.apply("");
        }
        upload(writer, 300).expectStatus().isAccepted();

        assertThat(rag.ingestsOf(tenant)).extracting(IngestDocumentsRequest::getMaxEmbeddingTokens)
                .containsExactly(0L, 500L, 200L, 0L);
    }

    @Test
    void anUploadNeedingMoreThanIsLeftIs429NamingItsTokensWhatIsLeftAndWhenToComeBack() throws Exception {
        String tenant = tenant(1000L);
        WebTestClient writer = as(tenant, "rag:write");
        collection(writer);
        upload(writer, 600).expectStatus().isAccepted();

        EntityExchangeResult<byte[]> refused = upload(writer, 500).expectStatus().isEqualTo(429)
                .expectBody()
                .jsonPath("$.error.type").isEqualTo("rate_limit_error")
                .jsonPath("$.error.code").isEqualTo("ingestion_quota_exceeded")
                .returnResult();
        long retryAfter = Long.parseLong(refused.getResponseHeaders().getFirst(HttpHeaders.RETRY_AFTER));
        // 100 tokens missing, at 1000 tokens a day: 8640 s, less what refilled since the first upload.
        assertThat(retryAfter).isBetween(8600L, 8640L);
        assertThat(message(refused)).isEqualTo("This upload needs 500 embedding tokens; tenant " + tenant
                + " has 400 of its 1,000 ingestion tokens per day left. Retry after " + retryAfter + "s.");

        // The refusal charged nothing: the whole remainder is still there.
        upload(writer, 400).expectStatus().isAccepted();
        assertThat(rag.ingestsOf(tenant)).extracting(IngestDocumentsRequest::getMaxEmbeddingTokens)
                .containsExactly(1000L, 400L, 400L);
        awaitSettled(tenant, 2);
        assertThat(jdbc.queryForList("SELECT prompt_tokens FROM usage_record WHERE tenant_id = ? ORDER BY id",
                Integer.class, tenant)).containsExactly(600, 400);
    }

    @Test
    void anUploadBiggerThanTheWholeQuotaIsToldSoWithoutRetryAfter() {
        String tenant = tenant(1000L);
        WebTestClient writer = as(tenant, "rag:write");
        collection(writer);

        EntityExchangeResult<byte[]> refused = upload(writer, 1500).expectStatus().isEqualTo(429)
                .expectHeader().doesNotExist(HttpHeaders.RETRY_AFTER)
                .expectBody().jsonPath("$.error.code").isEqualTo("ingestion_quota_exceeded")
                .returnResult();
        assertThat(message(refused)).isEqualTo("This upload needs 1,500 embedding tokens, more than the 1,000 "
                + "ingestion tokens per day of tenant " + tenant + ". Upload fewer or smaller documents at a time.");
    }

    @Test
    void anExhaustedQuotaRefusesUploadsWithoutCallingTheRagServiceOrTakingARequest() {
        String tenant = tenant(100L);
        WebTestClient client = key(tenant, 2, null);
        collection(as(tenant, "rag:write"));
        upload(client, 100).expectStatus().isAccepted();

        EntityExchangeResult<byte[]> refused = upload(client, 1).expectStatus().isEqualTo(429)
                .expectHeader().exists(HttpHeaders.RETRY_AFTER)
                .expectBody().jsonPath("$.error.code").isEqualTo("ingestion_quota_exceeded")
                .returnResult();
        String retryAfter = refused.getResponseHeaders().getFirst(HttpHeaders.RETRY_AFTER);
        assertThat(message(refused)).isEqualTo("Tenant " + tenant + " has 0 of its 100 ingestion tokens per day "
                + "left. Retry after " + retryAfter + "s.");

        assertThat(rag.ingestsOf(tenant)).hasSize(1);
        // The key's second request of the minute is still there for a search.
        search(client).expectStatus().isOk().expectHeader().valueEquals("X-RateLimit-Remaining-Requests", "0");
    }

    @Test
    void anAcceptedUploadIsChargedToTheKeysAndTenantsTokensPerMinuteAndWrittenAsUsage() throws Exception {
        String tenant = TestKeys.tenant(tenants, null, 20_000, null, 5000L);
        KeyStore.Created limited = TestKeys.key(keys, tenant, List.of("rag:read", "rag:write"), null, 10_000, null,
                null);
        WebTestClient uploader = client(limited);
        WebTestClient colleague = key(tenant, null, null);
        collection(uploader);

        String requestId = upload(uploader, 300).expectStatus().isAccepted().expectBody().returnResult()
                .getResponseHeaders().getFirst("X-Request-Id");
        awaitSettled(tenant, 1);

        // Each search shows its tightest token bucket: the key's, then (a key without a limit) the tenant's.
        search(uploader).expectStatus().isOk().expectHeader().valueEquals("X-RateLimit-Remaining-Tokens", "9700");
        search(colleague).expectStatus().isOk().expectHeader().valueEquals("X-RateLimit-Remaining-Tokens", "19700");
        upload(colleague, 1).expectStatus().isAccepted();
        assertThat(rag.ingestsOf(tenant).get(1).getMaxEmbeddingTokens()).isEqualTo(4700);

        awaitSettled(tenant, 2);
        Map<String, Object> row = jdbc.queryForMap("SELECT key_id, subject, endpoint, model, prompt_tokens, "
                + "completion_tokens FROM usage_record WHERE tenant_id = ? AND request_id = ?", tenant, requestId);
        assertThat(row).containsEntry("key_id", limited.info().id()).containsEntry("endpoint", "rag.documents")
                .containsEntry("model", "tiny-embed").containsEntry("prompt_tokens", 300)
                .containsEntry("completion_tokens", 0).containsEntry("subject", "key:" + limited.info().id());
        web.get().uri("/v1/admin/usage?tenant=" + tenant).exchange().expectStatus().isOk()
                .expectBody()
                .jsonPath("$.data.length()").isEqualTo(2)
                .jsonPath("$.data[?(@.key_id == '" + limited.info().id() + "')].prompt_tokens").isEqualTo(300);
    }

    @Test
    void anUploadBeyondTheTokensPerMinuteIsAcceptedAndOverdrawsThem() throws Exception {
        String tenant = tenant(null);
        WebTestClient client = key(tenant, null, 100);
        collection(as(tenant, "rag:write"));

        upload(client, 300).expectStatus().isAccepted();
        awaitSettled(tenant, 1);

        // 100 - 300 = -200: even a search, which takes no tokens, waits until the bucket refills.
        search(client).expectStatus().isEqualTo(429)
                .expectBody().jsonPath("$.error.message").value(m -> assertThat((String) m)
                        .contains("tokens per minute"));
    }

    @Test
    void anUploadTakesOneRequestFromTheRequestsPerMinute() {
        String tenant = tenant(null);
        WebTestClient client = key(tenant, 1, null);
        collection(as(tenant, "rag:write"));

        upload(client, 10).expectStatus().isAccepted()
                .expectHeader().valueEquals("X-RateLimit-Remaining-Requests", "0");
        assertRefusedByRequestsPerMinute(upload(client, 10));
        assertThat(rag.ingestsOf(tenant)).hasSize(1);
    }

    @Test
    void aJwtCallersTenantHasTheQuotaOfItsTenantRow() {
        String tenant = tenant(50L);
        WebTestClient caller = TestJwts.as(web, tenant, "rag:read rag:write");
        collection(caller);

        upload(caller, 60).expectStatus().isEqualTo(429)
                .expectBody().jsonPath("$.error.code").isEqualTo("ingestion_quota_exceeded");
        assertThat(rag.ingestsOf(tenant)).singleElement()
                .satisfies(sent -> assertThat(sent.getMaxEmbeddingTokens()).isEqualTo(50));
    }

    private String tenant(Long ingestTokensPerDay) {
        return TestKeys.tenant(tenants, null, null, null, ingestTokensPerDay);
    }

    /** A key of tenant that may upload and search, with these limits of its own. */
    private WebTestClient key(String tenant, Integer rpm, Integer tpm) {
        return client(TestKeys.key(keys, tenant, List.of("rag:read", "rag:write"), rpm, tpm, null, null));
    }

    private WebTestClient client(KeyStore.Created key) {
        return web.mutate().defaultHeaders(h -> h.set(HttpHeaders.AUTHORIZATION, "Bearer " + key.plaintext()))
                .build();
    }

    private void collection(WebTestClient writer) {
        writer.post().uri("/v1/rag/collections").contentType(MediaType.APPLICATION_JSON)
                .bodyValue("{\"name\": \"docs\"}").exchange().expectStatus().isCreated();
    }

    /** One document of {@code bytes} bytes: that many embedding tokens for the fake. */
    private static WebTestClient.ResponseSpec upload(WebTestClient client, int bytes) {
        return client.post().uri("/v1/rag/collections/docs/documents").contentType(MediaType.APPLICATION_JSON)
                .bodyValue("{\"documents\": [{\"id\": \"d\", \"text\": \"" + "x".repeat(bytes) + "\"}]}").exchange();
    }

    private static WebTestClient.ResponseSpec uploadMultipart(WebTestClient client, int bytes) {
        MultipartBodyBuilder parts = new MultipartBodyBuilder();
        parts.part("file", new ByteArrayResource("x".repeat(bytes).getBytes(StandardCharsets.UTF_8)) {
            @Override
            public String getFilename() {
                return "d.txt";
            }
        }).contentType(MediaType.TEXT_PLAIN);
        return client.post().uri("/v1/rag/collections/docs/documents").contentType(MediaType.MULTIPART_FORM_DATA)
                .body(BodyInserters.fromMultipartData(parts.build())).exchange();
    }

    private static String message(EntityExchangeResult<byte[]> result) {
        String body = new String(result.getResponseBody(), StandardCharsets.UTF_8);
        return com.jayway.jsonpath.JsonPath.read(body, "$.error.message");
    }
}
