package io.tianshu.gateway.error;

import io.tianshu.gateway.support.GatewayTest;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.springframework.http.MediaType;
import org.junit.jupiter.api.Test;

/** Bad input gets OpenAI's error body with a 4xx that names the problem; never a 500 or a trace. */
class ErrorResponsesTest extends GatewayTest {

    @ParameterizedTest(name = "{0} -> {1} param={2}")
    @CsvSource(delimiter = '|', value = {
        "{\"model\": \"tiny-chat\", \"messages\": [|400|",
        "{\"messages\": [{\"role\": \"user\", \"content\": \"Hi\"}]}|400|model",
        "{\"model\": \"tiny-chat\"}|400|messages",
        "{\"model\": \"tiny-chat\", \"messages\": []}|400|messages",
        "{\"model\": \"tiny-chat\", \"messages\": \"Hi\"}|400|messages",
        "{\"model\": \"tiny-chat\", \"messages\": [{\"role\": \"user\", \"content\": \"Hi\"}], \"temperature\": \"hot\"}|400|temperature",
        "{\"model\": \"tiny-chat\", \"messages\": [{\"role\": \"user\", \"content\": \"Hi\"}], \"temperature\": 3}|400|temperature",
        "{\"model\": \"tiny-chat\", \"messages\": [{\"role\": \"user\", \"content\": \"Hi\"}], \"max_tokens\": 0}|400|max_tokens",
        "{\"model\": \"tiny-chat\", \"messages\": [{\"role\": \"user\", \"content\": \"Hi\"}], \"max_tokens\": -5}|400|max_tokens",
        "{\"model\": \"tiny-chat\", \"messages\": [{\"role\": \"user\", \"content\": \"Hi\"}], \"max_tokens\": 1.5}|400|max_tokens",
        "{\"model\": \"tiny-chat\", \"messages\": [{\"role\": \"wizard\", \"content\": \"Hi\"}]}|400|messages[0].role",
        "{\"model\": \"tiny-chat\", \"messages\": [{\"role\": \"user\", \"content\": 7}]}|400|messages[0].content",
        "{\"model\": \"tiny-chat\", \"messages\": [{\"role\": \"user\", \"content\": \"Hi\"}], \"stop\": 3}|400|stop",
        "{\"model\": \"tiny-chat\", \"messages\": [{\"role\": \"user\", \"content\": \"Hi\"}], \"stream\": \"yes\"}|400|stream",
        "[1, 2]|400|",
    })
    void badChatBodyIsRefusedWithOpenAiError(String body, int status, String param) {
        var spec = web.post().uri("/v1/chat/completions").contentType(MediaType.APPLICATION_JSON)
                .bodyValue(body)
                .exchange()
                .expectStatus().isEqualTo(status)
                .expectHeader().contentTypeCompatibleWith(MediaType.APPLICATION_JSON)
                .expectBody()
                .jsonPath("$.error.type").isEqualTo("invalid_request_error")
                .jsonPath("$.error.message").isNotEmpty()
                .jsonPath("$.error.code").hasJsonPath();
        if (param == null) {
            spec.jsonPath("$.error.param").isEmpty();
        } else {
            spec.jsonPath("$.error.param").isEqualTo(param);
        }
    }

    @Test
    void missingBodyIs400() {
        web.post().uri("/v1/chat/completions").contentType(MediaType.APPLICATION_JSON)
                .exchange()
                .expectStatus().isBadRequest()
                .expectBody().jsonPath("$.error.message").isNotEmpty();
    }

    @Test
    void unknownRouteIs404WithOpenAiBody() {
        web.get().uri("/v1/no-such-thing")
                .exchange()
                .expectStatus().isNotFound()
                .expectBody()
                .jsonPath("$.error.type").isEqualTo("invalid_request_error")
                .jsonPath("$.error.message").value(m -> org.assertj.core.api.Assertions.assertThat((String) m)
                        .contains("/v1/no-such-thing"));
    }

    @Test
    void wrongMethodIs405WithOpenAiBody() {
        web.get().uri("/v1/chat/completions")
                .exchange()
                .expectStatus().isEqualTo(405)
                .expectHeader().valueEquals("Allow", "POST")
                .expectBody().jsonPath("$.error.message").isNotEmpty();
    }

    @Test
    void wrongContentTypeIs415WithOpenAiBody() {
        web.post().uri("/v1/chat/completions").contentType(MediaType.TEXT_PLAIN)
                .bodyValue("hello")
                .exchange()
                .expectStatus().isEqualTo(415)
                .expectBody().jsonPath("$.error.type").isEqualTo("invalid_request_error")
                .jsonPath("$.error.message").isEqualTo("Unsupported Content-Type text/plain; send application/json.");
    }
}
