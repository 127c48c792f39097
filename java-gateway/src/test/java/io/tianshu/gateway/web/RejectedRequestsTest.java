package io.tianshu.gateway.web;

import io.tianshu.gateway.support.GatewayTest;
import java.net.URI;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import org.springframework.boot.test.web.server.LocalServerPort;
import org.springframework.http.MediaType;

/** What the security firewall refuses answers OpenAI's error body, not an empty 400. */
class RejectedRequestsTest extends GatewayTest {

    @LocalServerPort
    int port;

    @ParameterizedTest
    @ValueSource(strings = {"/v1/models/a%0Db", "/v1/models/a%00b", "/v1/models/a%25b", "/v1/models/a;b",
        "/v1/batches?limit=20&%0A=x"})
    void aRefusedUrlIs400WithTheErrorBody(String path) {
        web.get().uri(URI.create("http://127.0.0.1:" + port + path)).exchange()
                .expectStatus().isBadRequest()
                .expectHeader().contentTypeCompatibleWith(MediaType.APPLICATION_JSON)
                .expectBody()
                .jsonPath("$.error.type").isEqualTo("invalid_request_error")
                .jsonPath("$.error.code").isEqualTo("invalid_request")
                .jsonPath("$.error.message").value(org.hamcrest.Matchers.startsWith("The request is refused"));
    }
}
