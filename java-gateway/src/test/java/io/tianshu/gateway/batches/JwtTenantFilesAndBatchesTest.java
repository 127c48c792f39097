package io.tianshu.gateway.batches;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import io.tianshu.gateway.support.TestJwts;
import org.junit.jupiter.api.Test;
import org.springframework.test.web.reactive.server.WebTestClient;

/**
 * A JWT caller's tenant is its token's tenant claim: its files and batches are its tenant's,
 * and another tenant's are 404, exactly as for api keys.
 */
class JwtTenantFilesAndBatchesTest extends BatchGatewayTest {

    @Test
    void aJwtCallerOfAnotherTenantCannotReadTheFileOrTheBatch() {
        String ownerTenant = TestJwts.newTenant();
        WebTestClient owner = TestJwts.as(web, ownerTenant, "batch");
        WebTestClient stranger = TestJwts.as(web, TestJwts.newTenant(), "batch");
        String file = uploaded(owner, "a");
        String batch = createBatch(owner, chatBatch(file), null).expectStatus().isOk()
                .expectBody(JsonNode.class).returnResult().getResponseBody().get("id").asText();
        assertThat(jobs.lastCreate.get().getTenantId()).as("the tenant the batch service was called for")
                .isEqualTo(ownerTenant);

        stranger.get().uri("/v1/files/" + file).exchange().expectStatus().isNotFound()
                .expectBody().jsonPath("$.error.code").isEqualTo("not_found");
        stranger.get().uri("/v1/files/" + file + "/content").exchange().expectStatus().isNotFound();
        stranger.delete().uri("/v1/files/" + file).exchange().expectStatus().isNotFound();
        stranger.get().uri("/v1/files").exchange().expectStatus().isOk()
                .expectBody().jsonPath("$.data.length()").isEqualTo(0);
        createBatch(stranger, chatBatch(file), null).expectStatus().isNotFound()
                .expectBody().jsonPath("$.error.param").isEqualTo("input_file_id");
        stranger.get().uri("/v1/batches/" + batch).exchange().expectStatus().isNotFound()
                .expectBody().jsonPath("$.error.code").isEqualTo("not_found");
        stranger.post().uri("/v1/batches/" + batch + "/cancel").exchange().expectStatus().isNotFound();
        stranger.get().uri("/v1/batches").exchange().expectStatus().isOk()
                .expectBody().jsonPath("$.data.length()").isEqualTo(0);

        owner.get().uri("/v1/files/" + file).exchange().expectStatus().isOk();
        owner.get().uri("/v1/batches/" + batch).exchange().expectStatus().isOk()
                .expectBody().jsonPath("$.id").isEqualTo(batch);
    }
}
