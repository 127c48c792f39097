package io.tianshu.gateway.console;

import static org.assertj.core.api.Assertions.assertThat;

import io.tianshu.gateway.support.GatewayTest;
import io.tianshu.gateway.support.TestConsole;
import java.io.ByteArrayInputStream;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.util.zip.GZIPInputStream;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.springframework.boot.test.web.server.LocalServerPort;
import org.springframework.http.HttpHeaders;
import org.springframework.test.web.reactive.server.EntityExchangeResult;

/** The console's page and files: served without a key, with the headers a browser acts on. */
class ConsoleServingTest extends GatewayTest {

    @LocalServerPort
    int port;

    @BeforeEach
    void withoutKey() {
        // A browser fetches the page before anyone signed in.
        web = web.mutate().defaultHeaders(headers -> headers.remove(HttpHeaders.AUTHORIZATION)).build();
    }

    @Test
    void thePageIsServedWithoutAKeyUnderAPolicyThatAllowsNoInlineOrForeignScript() {
        EntityExchangeResult<String> page = web.get().uri("/").exchange()
                .expectStatus().isOk()
                .expectBody(String.class).returnResult();
        assertThat(page.getResponseBody()).isEqualTo(TestConsole.PAGE);
        HttpHeaders headers = page.getResponseHeaders();
        assertThat(headers.getContentType().toString()).startsWith("text/html");
        String policy = headers.getFirst("Content-Security-Policy");
        assertThat(policy).contains("script-src 'self';", "connect-src 'self'", "default-src 'self'");
        assertThat(policy).doesNotContain("unsafe-eval", "http:", "https:");
        assertThat(policy.split("script-src")[1].split(";")[0]).doesNotContain("unsafe-inline");
        assertThat(headers.getCacheControl()).isEqualTo("no-cache");
    }

    @Test
    void aHashedAssetIsCachedForAYearAndSentCompressedToABrowserThatAcceptsIt() throws Exception {
        // The JDK's client, not WebTestClient: Reactor Netty's client would inflate the body
        // and drop Content-Encoding before the test could see them.
        HttpClient http = HttpClient.newHttpClient();
        URI script = URI.create("http://127.0.0.1:" + port + TestConsole.SCRIPT_PATH);
        HttpResponse<byte[]> zipped = http.send(HttpRequest.newBuilder(script)
                .header("Accept-Encoding", "gzip, deflate").build(), HttpResponse.BodyHandlers.ofByteArray());
        assertThat(zipped.statusCode()).isEqualTo(200);
        assertThat(zipped.headers().firstValue("Cache-Control")).hasValueSatisfying(
                value -> assertThat(value).contains("max-age=31536000", "immutable"));
        assertThat(zipped.headers().firstValue("Content-Encoding")).hasValue("gzip");
        assertThat(zipped.body().length).isLessThan(TestConsole.SCRIPT.length());
        try (GZIPInputStream in = new GZIPInputStream(new ByteArrayInputStream(zipped.body()))) {
            assertThat(new String(in.readAllBytes(), StandardCharsets.UTF_8)).isEqualTo(TestConsole.SCRIPT);
        }

        HttpResponse<String> plain = http.send(HttpRequest.newBuilder(script).build(),
                HttpResponse.BodyHandlers.ofString());
        assertThat(plain.headers().firstValue("Content-Encoding")).isEmpty();
        assertThat(plain.body()).isEqualTo(TestConsole.SCRIPT);
    }

    @Test
    void aMissingAssetIs404AndTheApiStillWantsAKey() {
        web.get().uri("/assets/nothing-here.js").exchange().expectStatus().isNotFound();
        web.get().uri("/v1/models").exchange().expectStatus().isUnauthorized();
    }
}
