package io.tianshu.gateway.requestid;

import static org.assertj.core.api.Assertions.assertThat;

import io.tianshu.gateway.support.GatewayTest;
import java.io.IOException;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.springframework.boot.test.system.CapturedOutput;
import org.springframework.boot.test.system.OutputCaptureExtension;
import org.springframework.boot.test.web.server.LocalServerPort;
import org.springframework.http.MediaType;

@ExtendWith(OutputCaptureExtension.class)
class RequestIdTest extends GatewayTest {

    private static final Pattern GENERATED = Pattern.compile(
            "[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}");

    @LocalServerPort
    int port;

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

    /**
     * The only way a CR LF survives HTTP/1.1 parsing inside a header is a folded line (a line
     * starting with a space continues the header before it). The folded value, with whatever
     * the second line tried to inject, is never echoed: not as a header, not in the body, not
     * in a log line, not to the backend.
     */
    @Test
    void anIdFoldedOverTwoLinesIsReplacedAndNeverEchoed(CapturedOutput output) throws Exception {
        String marker = "fold-marker-4c1e";
        String response = raw(chatRequest("X-Request-Id: caller-id\r\n " + marker + ": injected\r\n",
                chat("Hi")));

        assertThat(response).startsWith("HTTP/1.1 200 ");
        String id = header(response, "X-Request-Id");
        assertThat(id).matches(GENERATED);
        assertThat(response).doesNotContain(marker).doesNotContainIgnoringCase("injected");
        assertThat(fake.lastRequestIdHeader.get()).isEqualTo(id);
        assertThat(fake.lastGeneration.get().getRequestId()).isEqualTo(id);
        awaitLogLine(output, "chat completion done.*\"request_id\":\"" + id + "\"");
        assertThat(output.getOut()).doesNotContain(marker);
    }

    @Test
    void anIdOverTheLengthLimitIsReplacedAndNeverEchoedEvenInAnError(CapturedOutput output) throws Exception {
        String tooLong = "long-marker-" + "x".repeat(128 - "long-marker-".length() + 1);
        String response = raw(chatRequest("X-Request-Id: " + tooLong + "\r\n",
                "{\"model\": \"no-such-model\", \"messages\": [{\"role\": \"user\", \"content\": \"Hi\"}]}"));

        assertThat(response).startsWith("HTTP/1.1 404 ").contains("\"code\":\"model_not_found\"");
        String id = header(response, "X-Request-Id");
        assertThat(id).matches(GENERATED);
        assertThat(response).doesNotContain("long-marker-");
        awaitLogLine(output, "request failed: POST /v1/chat/completions -> 404.*\"request_id\":\"" + id + "\"");
        assertThat(output.getOut()).doesNotContain("long-marker-");

        String longest = "x".repeat(128);
        web.post().uri("/v1/chat/completions").contentType(MediaType.APPLICATION_JSON).header("X-Request-Id", longest)
                .bodyValue(chat("Hi")).exchange()
                .expectStatus().isOk().expectHeader().valueEquals("X-Request-Id", longest);
    }

    /** A bare CR or LF breaks the HTTP framing itself: the server refuses the request before any of it runs. */
    @Test
    void anIdWithABareCarriageReturnOrLineFeedIsRefusedUnread() throws Exception {
        for (String broken : new String[] {"X-Request-Id: cr-marker\rSet-Cookie: x=1\r\n",
            "X-Request-Id: lf-marker\nSet-Cookie: x=1\r\n"}) {
            String response = raw(chatRequest(broken, chat("Hi")));

            assertThat(response).startsWith("HTTP/1.1 400 ").doesNotContain("marker").doesNotContain("Set-Cookie");
        }
        assertThat(fake.generateCalls).hasValue(0);
    }

    private byte[] chatRequest(String requestIdLines, String body) {
        byte[] content = body.getBytes(StandardCharsets.UTF_8);
        return ("POST /v1/chat/completions HTTP/1.1\r\nHost: gateway\r\nConnection: close\r\n"
                + "Authorization: Bearer " + adminKey() + "\r\nContent-Type: application/json\r\n"
                + "Content-Length: " + content.length + "\r\n" + requestIdLines + "\r\n" + body)
                .getBytes(StandardCharsets.UTF_8);
    }

    /** Sends bytes on a fresh connection and reads the whole response, up to the server's close. */
    private String raw(byte[] request) throws IOException {
        try (Socket socket = new Socket("127.0.0.1", port)) {
            socket.setSoTimeout(30_000);
            socket.getOutputStream().write(request);
            socket.getOutputStream().flush();
            return new String(socket.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        }
    }

    private static String header(String response, String name) {
        Matcher header = Pattern.compile("(?im)^" + name + ": ([^\r\n]*)").matcher(response);
        assertThat(header.find()).as("%s in %s", name, response).isTrue();
        return header.group(1);
    }

    /** Log lines are written once the response is on its way, so they may follow it by a moment. */
    private static void awaitLogLine(CapturedOutput output, String regex) throws InterruptedException {
        Pattern line = Pattern.compile(regex);
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
        while (!line.matcher(output.getOut()).find() && System.nanoTime() < deadline) {
            Thread.sleep(10);
        }
        assertThat(output.getOut()).containsPattern(line);
    }
}
