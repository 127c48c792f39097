package io.tianshu.gateway.web;

import static org.assertj.core.api.Assertions.assertThat;

import io.tianshu.gateway.support.GatewayTest;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.Socket;
import java.net.SocketTimeoutException;
import java.nio.charset.StandardCharsets;
import org.junit.jupiter.api.Test;
import org.springframework.boot.test.web.server.LocalServerPort;

/**
 * One keep-alive connection, requests sent one after another as soon as each answer is read,
 * the way HTTP client pools use a connection. Answers the gateway gives without waiting on
 * anything (a health probe, the cached model list, an authentication error) are the case
 * Reactor Netty 1.2.18 mishandles: the next request can sit unread for good.
 */
class KeepAliveTest extends GatewayTest {

    private static final int REQUESTS = 600;

    @LocalServerPort
    int port;

    @Test
    void healthProbesOnOneConnectionAreAllAnswered() throws IOException {
        assertThat(answeredInARow("GET /actuator/health/liveness HTTP/1.1\r\nHost: gateway\r\n\r\n"))
                .isEqualTo(REQUESTS);
    }

    @Test
    void modelListsOnOneConnectionAreAllAnswered() throws IOException {
        assertThat(answeredInARow("GET /v1/models HTTP/1.1\r\nHost: gateway\r\nAuthorization: Bearer " + adminKey()
                + "\r\n\r\n")).isEqualTo(REQUESTS);
    }

    @Test
    void authenticationErrorsOnOneConnectionAreAllAnswered() throws IOException {
        assertThat(answeredInARow("GET /v1/models HTTP/1.1\r\nHost: gateway\r\nAuthorization: Bearer nope\r\n\r\n"))
                .isEqualTo(REQUESTS);
    }

    /**
     * A refusal decided from the headers alone (here a bad key) is answered while the client is
     * still sending the body. Closing then would make the kernel reset the connection on the
     * body's remaining bytes, and a reset can destroy the answer before the client reads it:
     * the gateway reads the body to its end first, answers, and keeps the connection.
     */
    @Test
    void aRefusalSentBeforeTheBodyArrivesReachesTheClientAndKeepsTheConnection() throws Exception {
        byte[] body = ("{\"model\": \"m\", \"messages\": [{\"role\": \"user\", \"content\": \""
                + "x".repeat(256 * 1024) + "\"}]}").getBytes(StandardCharsets.US_ASCII);
        byte[] head = ("POST /v1/chat/completions HTTP/1.1\r\nHost: gateway\r\nAuthorization: Bearer nope\r\n"
                + "Content-Type: application/json\r\nContent-Length: " + body.length + "\r\n\r\n")
                .getBytes(StandardCharsets.US_ASCII);
        try (Socket socket = new Socket("127.0.0.1", port)) {
            socket.setSoTimeout(10_000);
            OutputStream out = socket.getOutputStream();
            InputStream in = socket.getInputStream();
            for (int i = 0; i < 3; i++) {
                out.write(head);
                out.flush();
                // Long enough for the gateway to have decided on the headers alone.
                Thread.sleep(300);
                out.write(body);
                out.flush();
                assertThat(readResponse(in)).startsWith("HTTP/1.1 401");
            }
        }
    }

    /** A body too big to read and drop is not waited for: the refusal comes at once, then the close. */
    @Test
    void aRefusalOfABodyTooBigToSwallowClosesTheConnection() throws IOException {
        String head = "POST /v1/chat/completions HTTP/1.1\r\nHost: gateway\r\nAuthorization: Bearer nope\r\n"
                + "Content-Type: application/json\r\nContent-Length: " + (3 * 1024 * 1024) + "\r\n\r\n";
        try (Socket socket = new Socket("127.0.0.1", port)) {
            socket.setSoTimeout(10_000);
            socket.getOutputStream().write(head.getBytes(StandardCharsets.US_ASCII));
            socket.getOutputStream().flush();
            InputStream in = socket.getInputStream();
            assertThat(readResponse(in)).startsWith("HTTP/1.1 401").containsIgnoringCase("connection: close");
            assertThat(in.read()).isEqualTo(-1);
        }
    }

    /** How many of REQUESTS identical requests were answered before one went unanswered for 10 s. */
    private int answeredInARow(String request) throws IOException {
        byte[] bytes = request.getBytes(StandardCharsets.US_ASCII);
        try (Socket socket = new Socket("127.0.0.1", port)) {
            socket.setSoTimeout(10_000);
            socket.setTcpNoDelay(true);
            OutputStream out = socket.getOutputStream();
            InputStream in = socket.getInputStream();
            for (int i = 0; i < REQUESTS; i++) {
                out.write(bytes);
                out.flush();
                try {
                    readResponse(in);
                } catch (SocketTimeoutException e) {
                    return i;
                }
            }
            return REQUESTS;
        }
    }

    /** Reads one response with a Content-Length body; returns its head. */
    private static String readResponse(InputStream in) throws IOException {
        StringBuilder head = new StringBuilder();
        while (!head.toString().endsWith("\r\n\r\n")) {
            int b = in.read();
            if (b < 0) {
                throw new IOException("connection closed after: " + head);
            }
            head.append((char) b);
        }
        int length = head.toString().lines()
                .filter(line -> line.toLowerCase().startsWith("content-length:"))
                .mapToInt(line -> Integer.parseInt(line.substring("content-length:".length()).trim()))
                .findFirst().orElseThrow(() -> new IOException("no Content-Length in " + head));
        assertThat(in.readNBytes(length)).hasSize(length);
        return head.toString();
    }
}
