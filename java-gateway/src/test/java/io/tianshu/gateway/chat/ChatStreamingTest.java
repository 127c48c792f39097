package io.tianshu.gateway.chat;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.tianshu.gateway.support.FakeInferenceService;
import io.tianshu.gateway.support.GatewayTest;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.springframework.beans.factory.annotation.Autowired;
import org.springframework.boot.test.web.server.LocalServerPort;
import org.springframework.http.MediaType;
import org.springframework.web.reactive.function.client.WebClient;
import reactor.test.StepVerifier;

class ChatStreamingTest extends GatewayTest {

    @Autowired
    ObjectMapper json;

    @LocalServerPort
    int port;

    @Test
    void streamSendsChunksThenUsageThenDone() throws Exception {
        List<String> events = stream(chat("Hi", "\"stream\": true, \"stream_options\": {\"include_usage\": true}"));

        assertThat(events).allSatisfy(e -> assertThat(e).startsWith("data: "));
        assertThat(events).last().isEqualTo("data: [DONE]");
        assertThat(events).hasSize(5);
        JsonNode first = data(events.get(0));
        assertThat(first.path("object").asText()).isEqualTo("chat.completion.chunk");
        assertThat(first.path("id").asText()).startsWith("chatcmpl-");
        assertThat(first.path("model").asText()).isEqualTo(FakeInferenceService.CHAT_MODEL);
        assertThat(first.path("created").isNumber()).isTrue();
        assertThat(first.at("/choices/0/delta/role").asText()).isEqualTo("assistant");
        assertThat(first.at("/choices/0/delta/content").asText()).isEqualTo("Hel");
        assertThat(first.at("/choices/0/finish_reason").isNull()).isTrue();
        JsonNode second = data(events.get(1));
        assertThat(second.at("/choices/0/delta/role").isMissingNode()).isTrue();
        assertThat(second.at("/choices/0/delta/content").asText()).isEqualTo("lo");
        assertThat(data(events.get(2)).at("/choices/0/finish_reason").asText()).isEqualTo("stop");
        JsonNode usage = data(events.get(3));
        assertThat(usage.path("choices").isEmpty()).isTrue();
        assertThat(usage.at("/usage/total_tokens").asInt()).isEqualTo(7);
    }

    @Test
    void streamWithoutIncludeUsageHasNoUsageChunk() throws Exception {
        List<String> events = stream(chat("Hi", "\"stream\": true"));

        assertThat(events).hasSize(4).last().isEqualTo("data: [DONE]");
        assertThat(events.subList(0, 3)).allSatisfy(e -> assertThat(data(e).has("usage")).isFalse());
    }

    @Test
    void failureAfterTheStreamStartedIsSentAsAnErrorEvent() throws Exception {
        List<String> events = stream(chat(FakeInferenceService.FAIL_MID_STREAM, "\"stream\": true"));

        assertThat(events).hasSize(2);
        assertThat(data(events.get(0)).at("/choices/0/delta/content").asText()).isEqualTo("Hel");
        JsonNode error = data(events.get(1)).path("error");
        assertThat(error.path("type").asText()).isEqualTo("server_error");
        // The engine's own words go to the log; the caller gets the fixed text and the request id.
        assertThat(error.path("message").asText()).matches("The backend failed \\(request id: [0-9a-f-]{36}\\)\\.")
                .doesNotContain("engine crashed");
    }

    @Test
    void failureBeforeTheFirstChunkIsAPlainHttpError() {
        web.post().uri("/v1/chat/completions").contentType(MediaType.APPLICATION_JSON)
                .bodyValue(chat(FakeInferenceService.OVERLOAD, "\"stream\": true"))
                .exchange()
                .expectStatus().isEqualTo(429)
                .expectHeader().contentTypeCompatibleWith(MediaType.APPLICATION_JSON)
                .expectBody().jsonPath("$.error.type").isEqualTo("rate_limit_error");
    }

    @Test
    void clientDisconnectCancelsTheBackendCall() throws Exception {
        var events = WebClient.create("http://localhost:" + port).post().uri("/v1/chat/completions")
                .header("Authorization", "Bearer " + adminKey())
                .contentType(MediaType.APPLICATION_JSON)
                .bodyValue(chat(FakeInferenceService.HANG, "\"stream\": true"))
                .retrieve()
                .bodyToFlux(String.class);

        // take(1) cancels the response after the first event, which closes the connection.
        StepVerifier.create(events.take(1)).expectNextCount(1).expectComplete().verify(Duration.ofSeconds(30));

        assertThat(fake.cancelled().await(30, TimeUnit.SECONDS))
                .as("the in-process server saw the GenerateStream call cancelled").isTrue();
    }

    private List<String> stream(String body) {
        byte[] raw = web.post().uri("/v1/chat/completions").contentType(MediaType.APPLICATION_JSON)
                .bodyValue(body)
                .exchange()
                .expectStatus().isOk()
                .expectHeader().contentTypeCompatibleWith(MediaType.TEXT_EVENT_STREAM)
                .expectBody().returnResult().getResponseBodyContent();
        String text = new String(raw, StandardCharsets.UTF_8);
        assertThat(text).endsWith("\n\n");
        return Arrays.asList(text.substring(0, text.length() - 2).split("\n\n"));
    }

    private JsonNode data(String event) throws Exception {
        return json.readTree(event.substring("data: ".length()));
    }
}
