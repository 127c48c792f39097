package io.tianshu.gateway.completions;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.tianshu.gateway.support.FakeInferenceService;
import io.tianshu.gateway.support.GatewayTest;
import io.tianshu.inference.v1.Generation;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.springframework.beans.factory.annotation.Autowired;
import org.springframework.http.MediaType;

class CompletionsTest extends GatewayTest {

    @Autowired
    ObjectMapper json;

    private static String completion(String prompt, String extra) {
        return "{\"model\": \"" + FakeInferenceService.CHAT_MODEL + "\", \"prompt\": \"" + prompt + "\""
                + (extra.isEmpty() ? "" : ", " + extra) + "}";
    }

    @Test
    void promptGoesToTheBackendRawAndTheAnswerHasTextCompletionShape() {
        web.post().uri("/v1/completions").contentType(MediaType.APPLICATION_JSON)
                .header("X-Request-Id", "cmpl-shape")
                .bodyValue(completion("Once upon", "\"temperature\": 0.2, \"top_p\": 0.5, \"n\": 2, \"stop\": [\"\\n\"], "
                        + "\"seed\": 7, \"max_tokens\": 9"))
                .exchange()
                .expectStatus().isOk()
                .expectBody()
                .jsonPath("$.id").isEqualTo("cmpl-cmpl-shape")
                .jsonPath("$.object").isEqualTo("text_completion")
                .jsonPath("$.model").isEqualTo(FakeInferenceService.CHAT_MODEL)
                .jsonPath("$.choices.length()").isEqualTo(2)
                .jsonPath("$.choices[0].text").isEqualTo("Hello there")
                .jsonPath("$.choices[0].index").isEqualTo(0)
                .jsonPath("$.choices[0].finish_reason").isEqualTo("stop")
                .jsonPath("$.choices[0].logprobs").isEmpty()
                .jsonPath("$.usage.total_tokens").isEqualTo(8);
        Generation sent = fake.lastGeneration.get();
        // Sent on as the token ids Tokenize counted, not as text to tokenize again.
        assertThat(sent.getPrompt()).isEmpty();
        assertThat(sent.getPromptTokenIdsCount()).isEqualTo(FakeInferenceService.PROMPT_TOKENS);
        assertThat(FakeInferenceService.tokenizedAs(sent).getPrompt()).isEqualTo("Once upon");
        assertThat(FakeInferenceService.tokenizedAs(sent).getMessagesCount()).isZero();
        assertThat(sent.getSampling().getMaxTokens()).isEqualTo(9);
        assertThat(sent.getSampling().getN()).isEqualTo(2);
        assertThat(sent.getSampling().getStopList()).containsExactly("\n");
        assertThat(sent.getSampling().getSeed()).isEqualTo(7L);
    }

    @Test
    void maxTokensDefaultsToOpenAisSixteenAndLogprobsAreForwarded() {
        web.post().uri("/v1/completions").contentType(MediaType.APPLICATION_JSON)
                .bodyValue(completion("Hi", "\"logprobs\": 2"))
                .exchange()
                .expectStatus().isOk();
        assertThat(fake.lastGeneration.get().getSampling().getMaxTokens()).isEqualTo(16);
        assertThat(fake.lastGeneration.get().getSampling().getLogprobs()).isEqualTo(2);
    }

    @Test
    void streamSendsTextCompletionChunksThenUsageThenDone() throws Exception {
        byte[] raw = web.post().uri("/v1/completions").contentType(MediaType.APPLICATION_JSON)
                .bodyValue(completion("Hi", "\"stream\": true, \"stream_options\": {\"include_usage\": true}"))
                .exchange()
                .expectStatus().isOk()
                .expectHeader().contentTypeCompatibleWith(MediaType.TEXT_EVENT_STREAM)
                .expectBody().returnResult().getResponseBodyContent();
        String text = new String(raw, StandardCharsets.UTF_8);
        List<String> events = Arrays.asList(text.substring(0, text.length() - 2).split("\n\n"));
        assertThat(events).hasSize(5).last().isEqualTo("data: [DONE]");
        JsonNode first = json.readTree(events.get(0).substring(6));
        assertThat(first.path("object").asText()).isEqualTo("text_completion");
        assertThat(first.at("/choices/0/text").asText()).isEqualTo("Hel");
        assertThat(first.at("/choices/0/finish_reason").isNull()).isTrue();
        assertThat(json.readTree(events.get(1).substring(6)).at("/choices/0/text").asText()).isEqualTo("lo");
        assertThat(json.readTree(events.get(2).substring(6)).at("/choices/0/finish_reason").asText()).isEqualTo("stop");
        assertThat(json.readTree(events.get(3).substring(6)).at("/usage/total_tokens").asInt()).isEqualTo(7);
    }

    @ParameterizedTest
    @CsvSource(delimiter = '|', value = {
        "\"echo\": true               | echo",
        "\"logprobs\": 6              | logprobs",
        "\"max_tokens\": 0            | max_tokens",
        "\"temperature\": 3           | temperature",
        "\"suffix\": \"end\"           | suffix",
        "\"n\": 9                     | n",
    })
    void unsupportedOrOutOfRangeFieldIs400NamingIt(String extra, String param) {
        web.post().uri("/v1/completions").contentType(MediaType.APPLICATION_JSON)
                .bodyValue(completion("Hi", extra))
                .exchange()
                .expectStatus().isBadRequest()
                .expectBody().jsonPath("$.error.param").isEqualTo(param);
    }

    @ParameterizedTest
    @CsvSource(delimiter = '|', value = {
        "{\"model\": \"tiny-chat\", \"prompt\": [1, 2]}         | prompt",
        "{\"model\": \"tiny-chat\", \"prompt\": [\"a\", \"b\"]} | prompt",
        "{\"model\": \"tiny-chat\"}                            | prompt",
        "{\"model\": \"tiny-embed\", \"prompt\": \"a\"}         | model",
    })
    void promptThatIsNotOneStringIs400(String body, String param) {
        web.post().uri("/v1/completions").contentType(MediaType.APPLICATION_JSON).bodyValue(body)
                .exchange()
                .expectStatus().isBadRequest()
                .expectBody().jsonPath("$.error.param").isEqualTo(param);
    }

    @Test
    void singleStringInAnArrayIsAccepted() {
        web.post().uri("/v1/completions").contentType(MediaType.APPLICATION_JSON)
                .bodyValue("{\"model\": \"tiny-chat\", \"prompt\": [\"Hi\"]}")
                .exchange()
                .expectStatus().isOk();
        assertThat(FakeInferenceService.tokenizedAs(fake.lastGeneration.get()).getPrompt()).isEqualTo("Hi");
    }
}
