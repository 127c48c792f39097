package io.tianshu.gateway.requestid;

import static org.assertj.core.api.Assertions.assertThat;

import io.tianshu.gateway.support.GatewayTest;
import java.util.concurrent.TimeUnit;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.springframework.boot.test.system.CapturedOutput;
import org.springframework.boot.test.system.OutputCaptureExtension;
import org.springframework.http.MediaType;

@ExtendWith(OutputCaptureExtension.class)
class RequestIdTest extends GatewayTest {

    @Test
    void wellFormedCallerIdIsEchoedAndSentToTheBackend() {
        web.post().uri("/v1/chat/completions").contentType(MediaType.APPLICATION_JSON)
                .header("X-Request-Id", "caller-42.a_b")
                .bodyValue(chat("Hi"))
                .exchange()
                .expectStatus().isOk()
                .expectHeader().valueEquals("X-Request-Id", "caller-42.a_b");

        assertThat(fake.lastRequestIdHeader.get()).isEqualTo("caller-42.a_b");
        assertThat(fake.lastGeneration.get().getRequestId()).isEqualTo("caller-42.a_b");
    }

    @Test
    void malformedCallerIdIsReplacedByAGeneratedOne() {
        String returned = web.post().uri("/v1/chat/completions").contentType(MediaType.APPLICATION_JSON)
                .header("X-Request-Id", "bad id; with=junk")
                .bodyValue(chat("Hi"))
                .exchange()
                .expectStatus().isOk()
                .returnResult(String.class).getResponseHeaders().getFirst("X-Request-Id");

        assertThat(returned).isNotBlank().isNotEqualTo("bad id; with=junk").matches("[A-Za-z0-9._-]{1,128}");
        assertThat(fake.lastRequestIdHeader.get()).isEqualTo(returned);
    }

    @Test
    void idIsGeneratedWhenAbsentAndStreamingCallsCarryItToo() {
        String returned = web.post().uri("/v1/chat/completions").contentType(MediaType.APPLICATION_JSON)
                .bodyValue(chat("Hi", "\"stream\": true"))
                .exchange()
                .expectStatus().isOk()
                .returnResult(String.class).getResponseHeaders().getFirst("X-Request-Id");

        assertThat(returned).isNotBlank();
        assertThat(fake.lastRequestIdHeader.get()).isEqualTo(returned);
        assertThat(fake.lastGeneration.get().getRequestId()).isEqualTo(returned);
    }

    @Test
    void errorResponsesCarryTheIdToo() {
        web.get().uri("/v1/nowhere").header("X-Request-Id", "err-1")
                .exchange()
                .expectStatus().isNotFound()
                .expectHeader().valueEquals("X-Request-Id", "err-1");
    }

    @Test
    void logLinesOfARequestCarryItsIdAsAJsonField(CapturedOutput output) throws InterruptedException {
        web.post().uri("/v1/chat/completions").contentType(MediaType.APPLICATION_JSON)
                .header("X-Request-Id", "log-check-7")
                .bodyValue(chat("Hi"))
                .exchange()
                .expectStatus().isOk();

        // Written once the response is on its way, so it may follow the response by a moment.
        Pattern line = Pattern.compile("chat completion done.*\"request_id\":\"log-check-7\"");
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
        while (!line.matcher(output.getOut()).find() && System.nanoTime() < deadline) {
            Thread.sleep(10);
        }
        assertThat(output.getOut()).containsPattern(line);
    }
}
