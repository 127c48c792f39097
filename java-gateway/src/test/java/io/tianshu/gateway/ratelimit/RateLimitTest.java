package io.tianshu.gateway.ratelimit;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

import io.tianshu.gateway.auth.Caller;
import io.tianshu.gateway.auth.KeyStore;
import io.tianshu.gateway.auth.Scope;
import io.tianshu.gateway.error.ApiException;
import io.tianshu.gateway.support.FakeInferenceService;
import io.tianshu.gateway.support.GatewayTest;
import io.tianshu.gateway.support.TestKeys;
import io.tianshu.gateway.tenants.TenantStore;
import io.tianshu.gateway.usage.UsageStore;
import java.time.Duration;
import java.util.List;
import java.util.UUID;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.springframework.beans.factory.annotation.Autowired;
import org.springframework.boot.test.web.server.LocalServerPort;
import org.springframework.http.HttpHeaders;
import org.springframework.http.MediaType;
import org.springframework.web.reactive.function.client.WebClient;
import reactor.core.publisher.Flux;
import reactor.core.publisher.Mono;
import reactor.test.StepVerifier;

/**
 * What admission guarantees whichever store holds the buckets; a subclass per store
 * (tianshu.limits.store) runs these against it.
 */
abstract class RateLimitTest extends GatewayTest {

    static final List<String> ALL = List.of("chat", "embeddings", "admin");

    @Autowired
    KeyStore keys;
    @Autowired
    TenantStore tenants;
    @Autowired
    Limiter limiter;
    @Autowired
    UsageStore usage;
    @LocalServerPort
    int port;

    /** The tokens the store holds for {@code bucket} as last written; null when it holds none (full). */
    abstract Double storedTokens(String bucket);

    @Test
    void aStepAdmittedAfterTheResponseHeadersWentOutStillTakesFromItsBuckets() {
        Caller caller = new Caller("sent-" + UUID.randomUUID(), UUID.randomUUID(), "test", Scope.all(),
                new Caller.Limits(2, null, null), Caller.Limits.NONE);
        HttpHeaders sent = HttpHeaders.readOnlyHttpHeaders(new HttpHeaders());

        for (int i = 0; i < 2; i++) {
            assertThat(limiter.admit(caller, "responses", "m", "r" + i, new Estimate(1, 1), sent).block()).isNotNull();
        }
        assertThat(limiter.admit(caller, "responses", "m", "r3", new Estimate(1, 1), sent)
                .onErrorResume(ApiException.class, refused -> Mono.empty()).block())
                .as("the third request of a key allowed two a minute").isNull();
    }

    @Test
    void concurrentCallsAgainstABucketOfCapacityCAdmitExactlyC() {
        String tenant = TestKeys.tenant(tenants, null, null, null);
        String key = TestKeys.key(keys, tenant, ALL, 5, null, null, null).plaintext();

        List<Integer> statuses = fire(List.of(port), key, 20);

        assertThat(statuses).filteredOn(s -> s == 200).hasSize(5);
        assertThat(statuses).filteredOn(s -> s == 429).hasSize(15);
    }

    /**
     * Each call reserves 5 prompt + 3 max_tokens = 8 tokens and uses exactly that (the fake's
     * usage), so no refund makes room while the burst runs: a tenant allowed 40 tokens per
     * minute fits exactly five calls, whatever order they are admitted in. Requests per minute
     * are far from binding.
     */
    @Test
    void concurrentCallsAgainstATokenLimitAdmitExactlyWhatFitsAndChargeWhatTheyUsed() throws Exception {
        String tenant = TestKeys.tenant(tenants, 1000, 40, null);
        KeyStore.Created created = TestKeys.key(keys, tenant, ALL, 1000, null, null, null);

        List<Answer> answers = burst(List.of(port), created.plaintext(), 20, "\"max_tokens\": 3");

        assertTokenLimitAdmittedFive(answers, tenant, created);
    }

    void assertTokenLimitAdmittedFive(List<Answer> answers, String tenant, KeyStore.Created key) throws Exception {
        assertThat(answers).filteredOn(a -> a.status() == 200).hasSize(5);
        assertThat(answers).filteredOn(a -> a.status() == 429).hasSize(answers.size() - 5)
                .allSatisfy(a -> assertThat(a.body()).contains("tokens per minute of this tenant"));
        awaitSettled(tenant, 5);
        assertThat(usage.summarize(tenant, key.info().id())).singleElement().satisfies(s -> {
            assertThat(s.requests()).isEqualTo(5);
            assertThat(s.promptTokens()).isEqualTo(5 * FakeInferenceService.PROMPT_TOKENS);
            assertThat(s.completionTokens()).isEqualTo(5 * 3);
        });
        // Refill over the stretched test window adds a few millionths of a token, nothing more.
        assertThat(level("tenant:" + tenant + ":tokens")).isCloseTo(0.0, within(0.01));
        // A refused call takes nothing, its request slot included.
        assertThat(level("key:" + key.info().id() + ":requests")).isCloseTo(1000.0 - 5, within(0.01));
        assertThat(level("tenant:" + tenant + ":requests")).isCloseTo(1000.0 - 5, within(0.01));
    }

    @Test
    void rejectionCarriesOpenAiHeadersAndSuccessesCarryTheInformationalOnes() {
        String tenant = TestKeys.tenant(tenants, null, null, null);
        String key = TestKeys.key(keys, tenant, ALL, 1, 1000, null, null).plaintext();

        web.post().uri("/v1/chat/completions").header("Authorization", "Bearer " + key)
                .contentType(MediaType.APPLICATION_JSON).bodyValue(chat("Hi", "\"max_tokens\": 10"))
                .exchange()
                .expectStatus().isOk()
                .expectHeader().valueEquals("X-RateLimit-Limit-Requests", "1")
                .expectHeader().valueEquals("X-RateLimit-Remaining-Requests", "0")
                .expectHeader().valueEquals("X-RateLimit-Limit-Tokens", "1000")
                .expectHeader().valueEquals("X-RateLimit-Remaining-Tokens", "985")
                .expectHeader().exists("X-RateLimit-Reset-Requests");
        web.post().uri("/v1/chat/completions").header("Authorization", "Bearer " + key)
                .contentType(MediaType.APPLICATION_JSON).bodyValue(chat("Hi", "\"max_tokens\": 10"))
                .exchange()
                .expectStatus().isEqualTo(429)
                .expectHeader().exists("Retry-After")
                .expectHeader().valueEquals("X-RateLimit-Remaining-Requests", "0")
                .expectHeader().exists("X-RateLimit-Reset-Tokens")
                .expectBody()
                .jsonPath("$.error.type").isEqualTo("rate_limit_error")
                .jsonPath("$.error.code").isEqualTo("rate_limit_exceeded");
    }

    @Test
    void rejectionByTokensReleasesTheRequestSlotAndSettlementRefundsUnusedTokens() throws Exception {
        String tenant = TestKeys.tenant(tenants, null, null, null);
        KeyStore.Created created = TestKeys.key(keys, tenant, ALL, 100, 30, null, null);
        String key = created.plaintext();
        // Each call reserves 5 prompt + 10 max_tokens = 15, and really uses 5 + 3 = 8.
        for (int i = 0; i < 2; i++) {
            call(key, "\"max_tokens\": 10").expectStatus().isOk();
        }
        call(key, "\"max_tokens\": 10").expectStatus().isEqualTo(429);
        awaitSettled(tenant, 2);

        // Refill over the stretched test window adds a few millionths of a token, nothing more.
        assertThat(level("key:" + created.info().id() + ":requests")).isCloseTo(98.0, within(0.01));
        assertThat(level("key:" + created.info().id() + ":tokens")).isCloseTo(30.0 - 8 - 8, within(0.01));
        // 14 left after the refunds: a call reserving 5 + 9 fits, which it would not have without them.
        call(key, "\"max_tokens\": 9").expectStatus().isOk();
    }

    @Test
    void serverTimingStillTimesAdmission() {
        String tenant = TestKeys.tenant(tenants, 10, null, null);
        String key = TestKeys.key(keys, tenant, ALL, null, null, null, null).plaintext();
        String timing = call(key, "\"max_tokens\": 10").expectStatus().isOk().returnResult(String.class)
                .getResponseHeaders().getFirst("Server-Timing");
        assertThat(timing).containsPattern("\\badmit;dur=\\d+\\.\\d{2}");
    }

    @Test
    void prometheusCountsTokensByTenantAndRejectionsByLimit() throws Exception {
        String tenant = TestKeys.tenant(tenants, null, null, null);
        String key = TestKeys.key(keys, tenant, ALL, 1, null, null, null).plaintext();
        call(key, "\"max_tokens\": 10").expectStatus().isOk();
        call(key, "\"max_tokens\": 10").expectStatus().isEqualTo(429);
        awaitSettled(tenant, 1);
        String metrics = web.get().uri("/actuator/prometheus").exchange().expectStatus().isOk()
                .expectBody(String.class).returnResult().getResponseBody();
        // The fake backend reports 5 prompt and 3 completion tokens per call.
        assertThat(metrics).containsPattern("tianshu_gateway_tokens_total\\{[^}]*kind=\"prompt\"[^}]*tenant=\""
                + tenant + "\"[^}]*} 5\\.0");
        assertThat(metrics).containsPattern("tianshu_gateway_tokens_total\\{[^}]*kind=\"completion\"[^}]*tenant=\""
                + tenant + "\"[^}]*} 3\\.0");
        assertThat(metrics).containsPattern("tianshu_gateway_rate_limit_rejections_total\\{endpoint=\"chat.completions\","
                + "limit=\"requests\",scope=\"key\"} \\d+\\.0");
    }

    @Test
    void requestLargerThanTheTokenLimitIsRefusedWithoutTakingAnything() {
        String tenant = TestKeys.tenant(tenants, null, null, null);
        KeyStore.Created created = TestKeys.key(keys, tenant, ALL, 10, 100, null, null);
        call(created.plaintext(), "\"max_tokens\": 500").expectStatus().isEqualTo(429)
                .expectBody().jsonPath("$.error.message").value(m -> assertThat((String) m).contains("too large"));
        assertThat(storedTokens("key:" + created.info().id() + ":requests")).isNull();
        assertThat(storedTokens("key:" + created.info().id() + ":tokens")).isNull();
    }

    @Test
    void streamCutByTheClientIsBilledForThePromptAndTheTokensItGenerated() throws Exception {
        String tenant = TestKeys.tenant(tenants, null, 1000, null);
        KeyStore.Created created = TestKeys.key(keys, tenant, ALL, null, null, null, null);
        var events = WebClient.create("http://localhost:" + port).post().uri("/v1/chat/completions")
                .header("Authorization", "Bearer " + created.plaintext())
                .contentType(MediaType.APPLICATION_JSON)
                .bodyValue(chat(FakeInferenceService.HANG, "\"stream\": true, \"max_tokens\": 50"))
                .retrieve().bodyToFlux(String.class);
        StepVerifier.create(events.take(1)).expectNextCount(1).expectComplete().verify(Duration.ofSeconds(30));
        assertThat(fake.cancelled().await(30, TimeUnit.SECONDS)).isTrue();
        // The cut stream settles after its cancellation reaches the gateway.
        awaitSettled(tenant, 1);
        assertThat(usage.summarize(tenant, created.info().id())).singleElement().satisfies(s -> {
            assertThat(s.requests()).isEqualTo(1);
            assertThat(s.promptTokens()).isEqualTo(FakeInferenceService.PROMPT_TOKENS);
            assertThat(s.completionTokens()).isEqualTo(1);
        });
        assertThat(level("tenant:" + tenant + ":tokens")).isCloseTo(1000.0 - 6, within(0.01));
    }

    @Test
    void streamCutByABackendErrorIsBilledForThePromptAndTheTokensItDelivered() throws Exception {
        String tenant = TestKeys.tenant(tenants, null, 1000, null);
        KeyStore.Created created = TestKeys.key(keys, tenant, ALL, null, null, null, null);

        String events = new String(call(created.plaintext(), "\"stream\": true, \"max_tokens\": 50",
                FakeInferenceService.FAIL_AFTER_DELTAS).expectStatus().isOk().expectBody().returnResult()
                .getResponseBodyContent(), java.nio.charset.StandardCharsets.UTF_8);

        assertThat(events).contains("data: {\"error\":").doesNotContain("[DONE]");
        long delivered = java.util.regex.Pattern.compile("\"content\":\"[^\"]+\"").matcher(events).results().count();
        assertThat(delivered).isEqualTo(FakeInferenceService.DELTAS_BEFORE_FAILING);
        awaitSettled(tenant, 1);
        assertThat(usage.summarize(tenant, created.info().id())).singleElement().satisfies(s -> {
            assertThat(s.promptTokens()).isEqualTo(FakeInferenceService.PROMPT_TOKENS);
            assertThat(s.completionTokens()).isEqualTo(delivered);
        });
        // Neither nothing (1000) nor the reservation of 5 + 50 (945): the prompt and what was sent.
        assertThat(level("tenant:" + tenant + ":tokens"))
                .isCloseTo(1000.0 - FakeInferenceService.PROMPT_TOKENS - delivered, within(0.01));
    }

    private org.springframework.test.web.reactive.server.WebTestClient.ResponseSpec call(String key, String extra,
            String content) {
        return web.post().uri("/v1/chat/completions").header("Authorization", "Bearer " + key)
                .contentType(MediaType.APPLICATION_JSON).bodyValue(chat(content, extra)).exchange();
    }

    private org.springframework.test.web.reactive.server.WebTestClient.ResponseSpec call(String key, String extra) {
        return web.post().uri("/v1/chat/completions").header("Authorization", "Bearer " + key)
                .contentType(MediaType.APPLICATION_JSON).bodyValue(chat("Hi", extra)).exchange();
    }

    double level(String bucket) {
        Double tokens = storedTokens(bucket);
        assertThat(tokens).as("tokens held for %s", bucket).isNotNull();
        return tokens;
    }

    /** n calls at once, spread over the given gateways; their HTTP statuses. */
    static List<Integer> fire(List<Integer> ports, String key, int n) {
        return burst(ports, key, n, "").stream().map(Answer::status).toList();
    }

    record Answer(int status, String body) {
    }

    /** n chat calls at once with these extra body fields, spread over the given gateways. */
    static List<Answer> burst(List<Integer> ports, String key, int n, String extraFields) {
        return Flux.range(0, n)
                .flatMap(i -> WebClient.create("http://localhost:" + ports.get(i % ports.size()))
                        .post().uri("/v1/chat/completions")
                        .header("Authorization", "Bearer " + key)
                        .contentType(MediaType.APPLICATION_JSON)
                        .bodyValue(chat("Hi", extraFields))
                        .exchangeToMono(r -> r.bodyToMono(String.class).defaultIfEmpty("")
                                .map(body -> new Answer(r.statusCode().value(), body))), n)
                .collectList()
                .block(Duration.ofMinutes(2));
    }
}
