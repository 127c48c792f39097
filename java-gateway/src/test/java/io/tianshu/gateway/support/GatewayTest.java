package io.tianshu.gateway.support;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import io.tianshu.gateway.ratelimit.Limiter;
import java.time.Duration;
import org.junit.jupiter.api.BeforeEach;
import org.springframework.beans.factory.annotation.Autowired;
import org.springframework.boot.test.autoconfigure.actuate.observability.AutoConfigureObservability;
import org.springframework.boot.test.context.SpringBootTest;
import org.springframework.context.annotation.Import;
import org.springframework.http.HttpHeaders;
import org.springframework.http.MediaType;
import org.springframework.jdbc.core.JdbcTemplate;
import org.springframework.test.web.reactive.server.WebTestClient;

/** The whole gateway on a random port, its inference backend in-process. One shared context. */
@SpringBootTest(webEnvironment = SpringBootTest.WebEnvironment.RANDOM_PORT)
@Import(InProcessInference.class)
// Tests switch metrics and tracing off by default; the prometheus endpoint and trace propagation
// are part of what is tested (span export stays off, as in application.yml).
@AutoConfigureObservability
public abstract class GatewayTest {

    @Autowired
    protected WebTestClient web;

    @Autowired
    protected FakeInferenceService fake;

    @Autowired
    private Limiter settlingLimiter;

    @Autowired
    private JdbcTemplate settlingJdbc;

    @BeforeEach
    void resetFake() {
        fake.reset();
        // Above WebTestClient's 5 s: a first call that initializes something lazily (springdoc
        // takes seconds) can pass that on two busy cores without anything being wrong.
        web = web.mutate().responseTimeout(Duration.ofSeconds(30))
                .defaultHeader(HttpHeaders.AUTHORIZATION, "Bearer " + adminKey()).build();
    }

    /** The key the gateway bootstrapped on first start: tenant "default", every scope, no limits. */
    public static String adminKey() {
        try {
            return Files.readString(EmbeddedPostgresInitializer.adminKeyFile()).trim();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /**
     * Waits until the tenant's calls so far have settled: `calls` usage rows written, and with
     * them their refunds (a batch writes its refunds first). A call settles when its response
     * ends on the gateway's side, which can be just after the client has read it, so waiting
     * for the settlements queued so far alone can miss the last call's.
     */
    protected void awaitSettled(String tenant, int calls) throws Exception {
        long deadline = System.nanoTime() + Duration.ofSeconds(60).toNanos();
        while (true) {
            settlingLimiter.awaitSettled(Duration.ofSeconds(60));
            Integer rows = settlingJdbc.queryForObject("SELECT count(*) FROM usage_record WHERE tenant_id = ?",
                    Integer.class, tenant);
            if (rows != null && rows >= calls) {
                return;
            }
            if (System.nanoTime() > deadline) {
                throw new AssertionError(tenant + " has " + rows + " usage rows after 60 s; expected " + calls);
            }
            Thread.sleep(20);
        }
    }

    /** A minimal chat call with another key than the admin one. */
    protected WebTestClient.ResponseSpec chatAs(String key) {
        return web.post().uri("/v1/chat/completions").header(HttpHeaders.AUTHORIZATION, "Bearer " + key)
                .contentType(MediaType.APPLICATION_JSON).bodyValue(chat("Hi")).exchange();
    }

    protected static String chat(String content) {
        return chat(content, "");
    }

    /** A minimal valid request for the fake's chat model, with extra top-level JSON fields. */
    protected static String chat(String content, String extraFields) {
        return """
                {"model": "%s", "messages": [{"role": "user", "content": "%s"}]%s}"""
                .formatted(FakeInferenceService.CHAT_MODEL, content, extraFields.isEmpty() ? "" : ", " + extraFields);
    }
}
