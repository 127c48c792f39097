package io.tianshu.gateway.files;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import io.tianshu.gateway.batches.BatchGatewayTest;
import io.tianshu.gateway.support.MalformedMultipart;
import org.junit.jupiter.api.Test;
import org.springframework.http.HttpHeaders;
import org.springframework.test.web.reactive.server.WebTestClient;

/** POST /v1/files with a body that is not the multipart form it claims to be: 400, never 500. */
class MalformedUploadTest extends BatchGatewayTest {

    @Test
    void aBodyThatIsNotValidMultipartIs400NamingTheProblem() {
        WebTestClient owner = as(newTenant(), "batch");
        for (MalformedMultipart malformed : MalformedMultipart.cases()) {
            JsonNode error = owner.post().uri("/v1/files").header(HttpHeaders.CONTENT_TYPE, malformed.contentType())
                    .bodyValue(malformed.body()).exchange()
                    .expectStatus().isBadRequest()
                    .expectBody(JsonNode.class).returnResult().getResponseBody().get("error");
            assertThat(error.get("type").asText()).as(malformed.name()).isEqualTo("invalid_request_error");
            assertThat(error.get("code").asText()).as(malformed.name()).isEqualTo("invalid_multipart");
            assertThat(error.get("message").asText()).as(malformed.name()).contains(malformed.problem());
        }
    }

    @Test
    void anotherContentTypeIs415NamingTheOneExpected() {
        as(newTenant(), "batch").post().uri("/v1/files").header(HttpHeaders.CONTENT_TYPE, "application/json")
                .bodyValue("{\"purpose\": \"batch\"}").exchange()
                .expectStatus().isEqualTo(415)
                .expectBody().jsonPath("$.error.message")
                .isEqualTo("Unsupported Content-Type application/json; send multipart/form-data.");
    }
}
