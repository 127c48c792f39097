package io.tianshu.gateway.batches;

import io.tianshu.gateway.support.GatewayTest;
import org.junit.jupiter.api.Test;
import org.springframework.http.MediaType;

/** The default gateway: no batch target configured. */
class BatchUnavailableTest extends GatewayTest {

    @Test
    void filesAndBatchesAre503NamingTheSetting() {
        web.post().uri("/v1/batches").contentType(MediaType.APPLICATION_JSON)
                .bodyValue("{\"input_file_id\": \"file-x\", \"endpoint\": \"/v1/chat/completions\"}").exchange()
                .expectStatus().isEqualTo(503)
                .expectBody()
                .jsonPath("$.error.code").isEqualTo("batch_unavailable")
                .jsonPath("$.error.message").value(org.hamcrest.Matchers.containsString("TIANSHU_BATCH_TARGET"));
        web.get().uri("/v1/batches").exchange().expectStatus().isEqualTo(503);
        web.get().uri("/v1/files").exchange().expectStatus().isEqualTo(503)
                .expectBody().jsonPath("$.error.code").isEqualTo("batch_unavailable");
    }

    @Test
    void readinessDoesNotWaitForABatchServiceThatIsNotConfigured() {
        web.get().uri("/actuator/health/readiness").exchange().expectStatus().isOk();
        web.get().uri("/actuator/health").exchange().expectStatus().isOk()
                .expectBody().jsonPath("$.components.batch.status").isEqualTo("UNKNOWN");
    }
}
