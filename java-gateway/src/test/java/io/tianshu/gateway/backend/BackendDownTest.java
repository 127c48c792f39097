package io.tianshu.gateway.backend;

import java.io.IOException;
import java.net.ServerSocket;
import java.time.Duration;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.springframework.beans.factory.annotation.Autowired;
import org.springframework.boot.test.context.SpringBootTest;
import io.tianshu.gateway.support.GatewayTest;
import org.springframework.http.HttpHeaders;
import org.springframework.http.MediaType;
import org.springframework.test.context.DynamicPropertyRegistry;
import org.springframework.test.context.DynamicPropertySource;
import org.springframework.test.web.reactive.server.WebTestClient;

/**
 * The real network channel, pointed at a port nobody listens on. Deadlines are set to ten
 * minutes and the client gives up after one, so a 503 proves the call failed fast on
 * UNAVAILABLE instead of waiting out its deadline.
 */
@SpringBootTest(webEnvironment = SpringBootTest.WebEnvironment.RANDOM_PORT, properties = {
    "tianshu.inference.deadline=10m",
    "tianshu.inference.stream-deadline=10m",
    "tianshu.inference.list-models-deadline=10m",
})
class BackendDownTest {

    @Autowired
    WebTestClient web;

    @DynamicPropertySource
    static void deadBackend(DynamicPropertyRegistry registry) throws IOException {
        int port;
        try (ServerSocket socket = new ServerSocket(0)) {
            port = socket.getLocalPort();
        }
        registry.add("tianshu.inference.targets", () -> "localhost:" + port);
    }

    @BeforeEach
    void patientClient() {
        web = web.mutate().responseTimeout(Duration.ofMinutes(1))
                .defaultHeader(HttpHeaders.AUTHORIZATION, "Bearer " + GatewayTest.adminKey()).build();
    }

    @Test
    void chatAnswers503WhenInferenceIsDown() {
        web.post().uri("/v1/chat/completions").contentType(MediaType.APPLICATION_JSON)
                .bodyValue("{\"model\": \"m\", \"messages\": [{\"role\": \"user\", \"content\": \"Hi\"}]}")
                .exchange()
                .expectStatus().isEqualTo(503)
                .expectBody()
                .jsonPath("$.error.type").isEqualTo("service_unavailable_error")
                .jsonPath("$.error.code").isEqualTo("unavailable");
    }

    @Test
    void streamingChatAnswers503NotAnEventStreamWhenInferenceIsDown() {
        web.post().uri("/v1/chat/completions").contentType(MediaType.APPLICATION_JSON)
                .bodyValue("{\"model\": \"m\", \"stream\": true, \"messages\": [{\"role\": \"user\", \"content\": \"Hi\"}]}")
                .exchange()
                .expectStatus().isEqualTo(503)
                .expectHeader().contentTypeCompatibleWith(MediaType.APPLICATION_JSON);
    }

    @Test
    void modelsAnswers503WhenInferenceIsDown() {
        web.get().uri("/v1/models")
                .exchange()
                .expectStatus().isEqualTo(503)
                .expectBody().jsonPath("$.error.message").isNotEmpty();
    }

    @Test
    void healthAndReadinessReportInferenceDownButLivenessStaysUp() {
        web.get().uri("/actuator/health/liveness").exchange().expectStatus().isOk();
        web.get().uri("/actuator/health/readiness").exchange().expectStatus().isEqualTo(503);
        web.get().uri("/actuator/health")
                .exchange()
                .expectStatus().isEqualTo(503)
                .expectBody().jsonPath("$.components.inference.status").isEqualTo("DOWN");
    }
}
