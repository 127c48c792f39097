package io.tianshu.gateway;

import io.tianshu.gateway.support.GatewayTest;
import org.junit.jupiter.api.Test;

class ActuatorTest extends GatewayTest {

    @Test
    void healthIsUpWithInferenceServing() {
        web.get().uri("/actuator/health")
                .exchange()
                .expectStatus().isOk()
                .expectBody()
                .jsonPath("$.status").isEqualTo("UP")
                .jsonPath("$.components.inference.status").isEqualTo("UP");
    }

    @Test
    void livenessAndReadinessGroupsAreExposed() {
        web.get().uri("/actuator/health/liveness").exchange().expectStatus().isOk();
        web.get().uri("/actuator/health/readiness").exchange().expectStatus().isOk();
    }

    @Test
    void prometheusMetricsAreExposed() {
        web.get().uri("/actuator/prometheus")
                .exchange()
                .expectStatus().isOk()
                .expectBody(String.class).value(body -> org.assertj.core.api.Assertions.assertThat(body)
                        .contains("jvm_memory_used_bytes"));
    }

    @Test
    void openApiDocumentListsTheChatRoute() {
        web.get().uri("/v3/api-docs")
                .exchange()
                .expectStatus().isOk()
                .expectBody().jsonPath("$.paths['/v1/chat/completions']").exists();
    }
}
