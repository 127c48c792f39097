package io.tianshu.gateway.batches;

import io.tianshu.gateway.auth.KeyStore;
import io.tianshu.gateway.support.GatewayTest;
import io.tianshu.gateway.support.TestKeys;
import io.tianshu.gateway.tenants.TenantStore;
import java.nio.charset.StandardCharsets;
import java.util.List;
import org.springframework.beans.factory.annotation.Autowired;
import org.springframework.context.annotation.Import;
import org.springframework.core.io.ByteArrayResource;
import org.springframework.http.HttpHeaders;
import org.springframework.http.MediaType;
import org.springframework.http.client.MultipartBodyBuilder;
import org.springframework.test.context.TestPropertySource;
import org.springframework.test.web.reactive.server.WebTestClient;
import org.springframework.web.reactive.function.BodyInserters;

/**
 * The gateway with its batch backend in-process; each test makes its own tenant and keys. A
 * small file limit, so 413 is cheap to provoke, and a charger that never runs on its own: the
 * tests drive it.
 */
@Import(InProcessJobs.class)
@TestPropertySource(properties = {"tianshu.batch.target=in-process", "tianshu.files.max-bytes=64KB",
    "tianshu.batch.charge.interval=3650d"})
public abstract class BatchGatewayTest extends GatewayTest {

    protected static final long MAX_FILE_BYTES = 64 * 1024;

    @Autowired
    FakeJobsService jobs;
    @Autowired
    protected KeyStore keys;
    @Autowired
    protected TenantStore tenants;

    protected String newTenant() {
        return TestKeys.tenant(tenants, null, null, null);
    }

    /** A client whose key belongs to tenant and has exactly these scopes. */
    protected WebTestClient as(String tenant, String... scopes) {
        String key = TestKeys.key(keys, tenant, List.of(scopes), null, null, null, null).plaintext();
        return web.mutate().defaultHeaders(h -> h.set(HttpHeaders.AUTHORIZATION, "Bearer " + key)).build();
    }

    /** One valid line of a chat batch. */
    protected static String chatLine(String customId) {
        return "{\"custom_id\": \"" + customId + "\", \"method\": \"POST\", \"url\": \"/v1/chat/completions\", "
                + "\"body\": {\"model\": \"tiny-chat\", \"max_tokens\": 8, \"messages\": [{\"role\": \"user\", "
                + "\"content\": \"Hi " + customId + "\"}]}}";
    }

    protected static String jsonl(String... lines) {
        return String.join("\n", lines) + "\n";
    }

    protected static WebTestClient.ResponseSpec upload(WebTestClient client, String purpose, byte[] content) {
        MultipartBodyBuilder parts = new MultipartBodyBuilder();
        parts.part("file", new ByteArrayResource(content) {
            @Override
            public String getFilename() {
                return "input.jsonl";
            }
        }).contentType(MediaType.APPLICATION_OCTET_STREAM);
        if (purpose != null) {
            parts.part("purpose", purpose);
        }
        return client.post().uri("/v1/files").contentType(MediaType.MULTIPART_FORM_DATA)
                .body(BodyInserters.fromMultipartData(parts.build())).exchange();
    }

    protected static WebTestClient.ResponseSpec upload(WebTestClient client, String purpose, String content) {
        return upload(client, purpose, content.getBytes(StandardCharsets.UTF_8));
    }

    /** Uploads a valid file and returns its id. */
    protected static String uploaded(WebTestClient client, String... customIds) {
        String[] lines = java.util.Arrays.stream(customIds).map(BatchGatewayTest::chatLine).toArray(String[]::new);
        return upload(client, "batch", jsonl(lines)).expectStatus().isOk().expectBody(com.fasterxml.jackson.databind
                .JsonNode.class).returnResult().getResponseBody().get("id").asText();
    }

    protected static WebTestClient.ResponseSpec createBatch(WebTestClient client, String body, String idempotencyKey) {
        WebTestClient.RequestBodySpec post = client.post().uri("/v1/batches").contentType(MediaType.APPLICATION_JSON);
        if (idempotencyKey != null) {
            post.header("Idempotency-Key", idempotencyKey);
        }
        return post.bodyValue(body).exchange();
    }

    protected static String chatBatch(String fileId) {
        return "{\"input_file_id\": \"" + fileId + "\", \"endpoint\": \"/v1/chat/completions\", "
                + "\"completion_window\": \"24h\"}";
    }
}
