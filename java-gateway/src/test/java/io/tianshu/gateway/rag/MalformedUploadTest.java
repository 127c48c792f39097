package io.tianshu.gateway.rag;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import io.tianshu.gateway.support.MalformedMultipart;
import org.junit.jupiter.api.Test;
import org.springframework.http.HttpHeaders;
import org.springframework.test.web.reactive.server.WebTestClient;

/** Document uploads with a body that is not the multipart form it claims to be: 400, never 500. */
class MalformedUploadTest extends RagGatewayTest {

    @Test
    void aBodyThatIsNotValidMultipartIs400NamingTheProblemAndNothingIsIngested() {
        String tenant = newTenant();
        WebTestClient writer = as(tenant, "rag:write");
        for (MalformedMultipart malformed : MalformedMultipart.cases()) {
            JsonNode error = writer.post().uri("/v1/rag/collections/docs/documents")
                    .header(HttpHeaders.CONTENT_TYPE, malformed.contentType()).bodyValue(malformed.body()).exchange()
                    .expectStatus().isBadRequest()
                    .expectBody(JsonNode.class).returnResult().getResponseBody().get("error");
            assertThat(error.get("type").asText()).as(malformed.name()).isEqualTo("invalid_request_error");
            assertThat(error.get("code").asText()).as(malformed.name()).isEqualTo("invalid_multipart");
            assertThat(error.get("message").asText()).as(malformed.name()).contains(malformed.problem());
        }
        assertThat(rag.lastIngest.get()).satisfiesAnyOf(
                last -> assertThat(last).isNull(), last -> assertThat(last.getTenantId()).isNotEqualTo(tenant));
    }

    @Test
    void anotherContentTypeIs415NamingBothThatAreRead() {
        as(newTenant(), "rag:write").post().uri("/v1/rag/collections/docs/documents")
                .header(HttpHeaders.CONTENT_TYPE, "text/plain").bodyValue("hello").exchange()
                .expectStatus().isEqualTo(415)
                .expectBody().jsonPath("$.error.message")
                .isEqualTo("Unsupported Content-Type text/plain; send application/json or multipart/form-data.");
    }
}
