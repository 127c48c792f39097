package io.tianshu.gateway.chat;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

import io.tianshu.gateway.auth.KeyStore;
import io.tianshu.gateway.support.FakeInferenceService;
import io.tianshu.gateway.support.GatewayTest;
import io.tianshu.gateway.support.TestKeys;
import io.tianshu.gateway.tenants.TenantStore;
import io.tianshu.inference.v1.Generation;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.stream.Collectors;
import org.junit.jupiter.api.Test;
import org.springframework.beans.factory.annotation.Autowired;
import org.springframework.http.MediaType;

class ChatCompletionsTest extends GatewayTest {

    @Autowired
    KeyStore keys;
    @Autowired
    TenantStore tenants;

    @Test
    void nonStreamingAnswerHasOpenAiShape() {
        web.post().uri("/v1/chat/completions").contentType(MediaType.APPLICATION_JSON)
                .header("X-Request-Id", "shape-1")
                .bodyValue(chat("Hi"))
                .exchange()
                .expectStatus().isOk()
                .expectHeader().contentTypeCompatibleWith(MediaType.APPLICATION_JSON)
                .expectBody()
                .jsonPath("$.id").isEqualTo("chatcmpl-shape-1")
                .jsonPath("$.object").isEqualTo("chat.completion")
                .jsonPath("$.created").isNumber()
                .jsonPath("$.model").isEqualTo(FakeInferenceService.CHAT_MODEL)
                .jsonPath("$.choices[0].index").isEqualTo(0)
                .jsonPath("$.choices[0].message.role").isEqualTo("assistant")
                .jsonPath("$.choices[0].message.content").isEqualTo("Hello there")
                .jsonPath("$.choices[0].finish_reason").isEqualTo("stop")
                .jsonPath("$.choices[0].logprobs").hasJsonPath()
                .jsonPath("$.choices[0].logprobs").isEmpty()
                .jsonPath("$.usage.prompt_tokens").isEqualTo(5)
                .jsonPath("$.usage.completion_tokens").isEqualTo(3)
                .jsonPath("$.usage.total_tokens").isEqualTo(8);
    }

    @Test
    void serverTimingNamesEachStepTheGatewayTook() {
        String tenant = TestKeys.tenant(tenants, 1000, 1_000_000, null);
        String key = TestKeys.key(keys, tenant, List.of("chat"), 1000, 1_000_000, null, null).plaintext();
        String timing = chatAs(key).expectStatus().isOk().returnResult(String.class).getResponseHeaders()
                .getFirst("Server-Timing");
        assertThat(timing).isNotNull();
        List<String> steps = Arrays.stream(timing.split(",\\s*")).map(step -> step.split(";dur=")[0]).toList();
        // count: the gateway's own attempt; tokenize: the fake serves no tokenizer to count with,
        // so the prompt was counted by a Tokenize call.
        assertThat(steps).containsExactlyInAnyOrder("admit", "auth", "count", "tokenize", "backend", "gateway",
                "request", "response");
        assertThat(timing).matches("(\\w+;dur=\\d+\\.\\d{2}(, )?)+");
        // The gateway's time is the time before the serving call plus the time after its answer.
        Map<String, Double> ms = Arrays.stream(timing.split(",\\s*")).map(step -> step.split(";dur="))
                .collect(Collectors.toMap(step -> step[0], step -> Double.parseDouble(step[1])));
        assertThat(ms.get("request") + ms.get("response")).isCloseTo(ms.get("gateway"), within(0.02));
        // Each figure is rounded to 0.01 ms.
        assertThat(ms.get("request") + 0.05)
                .isGreaterThanOrEqualTo(ms.get("auth") + ms.get("count") + ms.get("tokenize") + ms.get("admit"));
    }

    @Test
    void samplingFieldsReachTheBackend() {
        web.post().uri("/v1/chat/completions").contentType(MediaType.APPLICATION_JSON)
                .bodyValue(chat("Hi", """
                        "temperature": 0.5, "top_p": 0.9, "max_tokens": 7, "stop": "END", "seed": 42,
                        "n": 2, "presence_penalty": 0.1, "frequency_penalty": -0.1, "user": "u1",
                        "response_format": {"type": "json_schema",
                          "json_schema": {"name": "city", "schema": {"type": "object"}}}"""))
                .exchange()
                .expectStatus().isOk()
                .expectBody()
                .jsonPath("$.choices.length()").isEqualTo(2)
                .jsonPath("$.choices[1].finish_reason").isEqualTo("length");
        Generation sent = fake.lastGeneration.get();
        assertThat(sent.getSampling().getTemperature()).isEqualTo(0.5f);
        assertThat(sent.getSampling().getMaxTokens()).isEqualTo(7);
        assertThat(sent.getSampling().getStopList()).containsExactly("END");
        assertThat(sent.getSampling().getSeed()).isEqualTo(42L);
        assertThat(sent.getSampling().getN()).isEqualTo(2);
        assertThat(sent.getStructuredOutput().getJsonSchema()).isEqualTo("{\"type\":\"object\"}");
    }

    @Test
    void backendFieldErrorBecomes400NamingTheOpenAiParam() {
        web.post().uri("/v1/chat/completions").contentType(MediaType.APPLICATION_JSON)
                .bodyValue(chat(FakeInferenceService.BAD_FIELD))
                .exchange()
                .expectStatus().isBadRequest()
                .expectBody()
                .jsonPath("$.error.type").isEqualTo("invalid_request_error")
                .jsonPath("$.error.param").isEqualTo("max_tokens")
                .jsonPath("$.error.message").isEqualTo("sampling.max_tokens: exceeds the context length");
    }

    @Test
    void backendOverloadBecomes429() {
        web.post().uri("/v1/chat/completions").contentType(MediaType.APPLICATION_JSON)
                .bodyValue(chat(FakeInferenceService.OVERLOAD))
                .exchange()
                .expectStatus().isEqualTo(429)
                .expectBody()
                .jsonPath("$.error.type").isEqualTo("rate_limit_error")
                .jsonPath("$.error.code").isEqualTo("resource_exhausted");
    }

    @Test
    void unknownModelIs404ModelNotFound() {
        web.post().uri("/v1/chat/completions").contentType(MediaType.APPLICATION_JSON)
                .bodyValue("{\"model\": \"no-such-model\", \"messages\": [{\"role\": \"user\", \"content\": \"Hi\"}]}")
                .exchange()
                .expectStatus().isNotFound()
                .expectBody()
                .jsonPath("$.error.code").isEqualTo("model_not_found")
                .jsonPath("$.error.param").isEqualTo("model")
                .jsonPath("$.error.message").value(m -> assertThat((String) m).contains("no-such-model"));
        assertThat(fake.lastGeneration.get()).as("no generation for an unknown model").isNull();
    }

    @Test
    void embeddingModelCannotChat() {
        web.post().uri("/v1/chat/completions").contentType(MediaType.APPLICATION_JSON)
                .bodyValue("{\"model\": \"tiny-embed\", \"messages\": [{\"role\": \"user\", \"content\": \"Hi\"}]}")
                .exchange()
                .expectStatus().isBadRequest()
                .expectBody()
                .jsonPath("$.error.param").isEqualTo("model");
    }

    @Test
    void choicesBeyondTheModelLimitAreRefused() {
        web.post().uri("/v1/chat/completions").contentType(MediaType.APPLICATION_JSON)
                .bodyValue(chat("Hi", "\"n\": 5"))
                .exchange()
                .expectStatus().isBadRequest()
                .expectBody()
                .jsonPath("$.error.param").isEqualTo("n");
    }
}
