package io.tianshu.gateway.rag;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import io.tianshu.gateway.requestid.RequestId;
import java.time.Duration;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.springframework.boot.test.system.CapturedOutput;
import org.springframework.boot.test.system.OutputCaptureExtension;
import org.springframework.http.MediaType;
import org.springframework.test.context.TestPropertySource;
import org.springframework.test.web.reactive.server.WebTestClient;

/**
 * A backend that fails tells the caller only the documented text and the request id; what
 * gRPC and the service said (deadlines, addresses, a traceback) is in one log line with that
 * id. A short RAG deadline makes the timeout cheap to provoke.
 */
@ExtendWith(OutputCaptureExtension.class)
@TestPropertySource(properties = "tianshu.rag.deadline=500ms")
class BackendFailureMessagesTest extends RagGatewayTest {

    @Test
    void aTimedOutSearchIs504WithTheFixedTextAndTheRequestIdAndTheDetailsInTheLog(CapturedOutput log) {
        JsonNode error = search("timeout-1", FakeRagService.NEVER_ANSWERED, 504);

        assertThat(error.get("message").asText()).isEqualTo("The backend did not answer in time (request id: timeout-1).");
        assertThat(error.get("type").asText()).isEqualTo("timeout_error");
        assertThat(error.get("code").asText()).isEqualTo("deadline_exceeded");
        assertThat(error.toString()).doesNotContain("CallOptions", "deadline exceeded after", "remote_addr");
        assertThat(warnings(log, "timeout-1")).singleElement().satisfies(line ->
                assertThat(line).contains("DEADLINE_EXCEEDED", "deadline exceeded after"));
    }

    @Test
    void aFailureWhoseDescriptionNamesAddressesAndCodeIs503WithNoneOfIt(CapturedOutput log) {
        JsonNode error = search("leak-1", FakeRagService.LEAKY_FAILURE, 503);

        assertThat(error.get("message").asText()).isEqualTo("The backend service is unavailable (request id: leak-1).");
        assertThat(error.toString()).doesNotContain("10.1.2.3", "remote_addr", "Traceback", "hybrid.py",
                "io exception");
        assertThat(warnings(log, "leak-1")).singleElement().satisfies(line ->
                assertThat(line).contains("UNAVAILABLE", "remote_addr=/10.1.2.3:50052", "hybrid.py"));
    }

    @Test
    void aRefusalMeantForTheCallerKeepsItsWordsAndLogsNoWarning(CapturedOutput log) {
        JsonNode error = search("refusal-1", FakeRagService.MISMATCH, 400);

        assertThat(error.get("message").asText()).isEqualTo("the collection uses 'tiny-embed', not 'other'");
        assertThat(warnings(log, "refusal-1")).isEmpty();
    }

    private JsonNode search(String requestId, String query, int status) {
        WebTestClient reader = as(newTenant(), "rag:read").mutate().responseTimeout(Duration.ofSeconds(30)).build();
        return reader.post().uri("/v1/rag/collections/docs/search").contentType(MediaType.APPLICATION_JSON)
                .header(RequestId.HEADER, requestId)
                .bodyValue("{\"query\": \"" + query + "\"}")
                .exchange()
                .expectStatus().isEqualTo(status)
                .expectHeader().valueEquals(RequestId.HEADER, requestId)
                .expectBody(JsonNode.class).returnResult().getResponseBody().get("error");
    }

    /** The log's WARN lines about the backend call of this request. */
    private static java.util.List<String> warnings(CapturedOutput log, String requestId) {
        return log.getAll().lines()
                .filter(line -> line.contains("\"level\":\"WARN\"") && line.contains("backend call failed, request "
                        + requestId + ":"))
                .toList();
    }
}
