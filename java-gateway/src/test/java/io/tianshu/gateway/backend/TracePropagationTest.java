package io.tianshu.gateway.backend;

import static org.assertj.core.api.Assertions.assertThat;

import io.tianshu.gateway.support.GatewayTest;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import org.springframework.http.MediaType;

/** The backends join the caller's trace: W3C traceparent in, a child span's traceparent to gRPC. */
class TracePropagationTest extends GatewayTest {

    private static final String TRACE_ID = "4bf92f3577b34da6a3ce929d0e0e4736";
    private static final String CALLER_SPAN = "00f067aa0ba902b7";

    @ParameterizedTest(name = "stream={0}")
    @ValueSource(booleans = {false, true})
    void backendCallCarriesTheCallersTraceId(boolean stream) {
        web.post().uri("/v1/chat/completions").contentType(MediaType.APPLICATION_JSON)
                .header("traceparent", "00-" + TRACE_ID + "-" + CALLER_SPAN + "-01")
                .bodyValue(chat("Hi", "\"stream\": " + stream))
                .exchange()
                .expectStatus().isOk()
                .expectBody().consumeWith(body -> { });

        String sent = fake.lastTraceparent.get();
        assertThat(sent).matches("00-[0-9a-f]{32}-[0-9a-f]{16}-01");
        assertThat(sent.split("-")[1]).isEqualTo(TRACE_ID);
        // A span of the gateway's own, child of the caller's, so the backend's work nests under it.
        assertThat(sent.split("-")[2]).isNotEqualTo(CALLER_SPAN);
    }

    @ParameterizedTest(name = "stream={0}")
    @ValueSource(booleans = {false, true})
    void callerWithoutTraceContextStartsANewTrace(boolean stream) {
        web.post().uri("/v1/chat/completions").contentType(MediaType.APPLICATION_JSON)
                .bodyValue(chat("Hi", "\"stream\": " + stream))
                .exchange()
                .expectStatus().isOk()
                .expectBody().consumeWith(body -> { });
        String first = fake.lastTraceparent.get();

        web.post().uri("/v1/chat/completions").contentType(MediaType.APPLICATION_JSON).bodyValue(chat("Hi"))
                .exchange().expectStatus().isOk();
        String second = fake.lastTraceparent.get();

        assertThat(first).matches("00-[0-9a-f]{32}-[0-9a-f]{16}-0[01]");
        assertThat(second).matches("00-[0-9a-f]{32}-[0-9a-f]{16}-0[01]");
        assertThat(first.split("-")[1]).isNotEqualTo(second.split("-")[1]).isNotEqualTo("0".repeat(32));
    }
}
