package io.tianshu.gateway.openapi;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import io.tianshu.gateway.batches.BatchGatewayTest;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * The OpenAPI document says what the API is and what it checks, so that clients generated
 * from it send what the API accepts: the product and its version, bearer authentication, the
 * error body of every operation, and the constraints the routes enforce.
 */
class OpenApiDocumentTest extends BatchGatewayTest {

    private JsonNode document;

    @BeforeEach
    void fetch() {
        // The first OpenAPI document of a test JVM takes seconds to build on a busy machine.
        document = web.mutate().responseTimeout(Duration.ofSeconds(60)).build().get().uri("/v3/api-docs").exchange()
                .expectStatus().isOk().expectBody(JsonNode.class).returnResult().getResponseBody();
    }

    @Test
    void theDocumentNamesTheProductItsVersionAndBearerAuthentication() {
        assertThat(document.at("/info/title").asText()).isEqualTo("Tianshu gateway");
        assertThat(document.at("/info/version").asText()).isNotEqualTo("v0").matches("\\d+\\.\\d+\\.\\d+.*");
        assertThat(document.at("/info/description").asText()).contains("OpenAI-compatible");
        assertThat(document.at("/components/securitySchemes/bearer/scheme").asText()).isEqualTo("bearer");
        assertThat(document.at("/security/0/bearer").isArray()).isTrue();
    }

    @Test
    void everyOperationDocumentsTheErrorBodyAndEveryReferenceResolves() {
        List<String> operations = new ArrayList<>();
        document.get("paths").fields().forEachRemaining(path -> path.getValue().fields().forEachRemaining(op -> {
            operations.add(op.getKey() + " " + path.getKey());
            assertThat(op.getValue().at("/responses/default/content/application~1json/schema/$ref").asText())
                    .as(op.getKey() + " " + path.getKey()).isEqualTo("#/components/schemas/ErrorBody");
        }));
        assertThat(operations).hasSizeGreaterThanOrEqualTo(30);
        Matcher refs = Pattern.compile("#/components/schemas/([A-Za-z0-9_]+)").matcher(document.toString());
        while (refs.find()) {
            assertThat(document.at("/components/schemas/" + refs.group(1)).isMissingNode())
                    .as("schema " + refs.group(1)).isFalse();
        }
        // The two multipart forms are different schemas, not one overwriting the other.
        assertThat(document.at("/paths/~1v1~1files/post/requestBody/content/multipart~1form-data/schema/$ref")
                .asText()).isEqualTo("#/components/schemas/FileUpload");
        assertThat(document.at("/components/schemas/FileUpload/properties/purpose/enum/0").asText()).isEqualTo("batch");
        assertThat(document.at("/components/schemas/DocumentUpload/required/0").asText()).isEqualTo("file");
    }

    @Test
    void requestSchemasStateWhatTheRoutesCheck() {
        JsonNode chat = schema("ChatCompletionRequest");
        assertThat(chat.get("required").toString()).contains("\"model\"", "\"messages\"");
        assertThat(chat.at("/properties/messages/minItems").asInt()).isEqualTo(1);
        assertThat(chat.at("/properties/temperature/maximum").asInt()).isEqualTo(2);
        assertThat(chat.at("/properties/top_p/exclusiveMinimum").asInt()).isZero();
        assertThat(schema("ChatCompletionRequestMessage").at("/properties/role/enum").toString())
                .isEqualTo("[\"system\",\"developer\",\"user\",\"assistant\",\"tool\"]");
        assertThat(schema("EmbeddingsRequest").at("/properties/encoding_format/enum").toString())
                .contains("\"float\"", "\"base64\"");
        assertThat(schema("NewBatch").at("/properties/endpoint/enum").toString())
                .isEqualTo("[\"/v1/chat/completions\",\"/v1/embeddings\"]");
        assertThat(schema("NewBatch").at("/properties/metadata/maxProperties").asInt()).isEqualTo(16);
        assertThat(schema("NewCollection").at("/properties/name/pattern").asText()).isNotEmpty();
        assertThat(schema("NewTenant").at("/properties/id/pattern").asText()).isNotEmpty();
        assertThat(schema("NewKey").at("/properties/scopes/items/enum").toString()).contains("\"rag:read\"");
        JsonNode limit = parameter("/v1/files", "get", "limit");
        assertThat(limit.at("/schema/type").asText()).isEqualTo("integer");
        assertThat(limit.at("/schema/maximum").asInt()).isEqualTo(10000);
        assertThat(parameter("/v1/batches", "get", "limit").at("/schema/maximum").asInt()).isEqualTo(100);
        // An optional property may be null: Jackson writes nulls for absent values.
        assertThat(schema("BatchObject").at("/properties/output_file_id").toString()).contains("null");
    }

    @Test
    void functionCallingFieldsStateWhatTheChatRouteChecks() {
        JsonNode chat = schema("ChatCompletionRequest");
        assertThat(chat.at("/properties/tools/maxItems").asInt()).isEqualTo(128);
        assertThat(chat.at("/properties/tools/items/$ref").asText())
                .isEqualTo("#/components/schemas/ChatCompletionFunctionTool");
        assertThat(chat.at("/properties/tool_choice").toString()).contains(
                "{\"type\":\"string\",\"enum\":[\"none\",\"auto\",\"required\"]}",
                "\"$ref\":\"#/components/schemas/ChatCompletionNamedToolChoice\"");
        assertThat(chat.at("/properties/parallel_tool_calls/type").toString()).contains("boolean");
        JsonNode tool = schema("ChatCompletionFunctionTool");
        assertThat(tool.at("/properties/type/enum").toString()).isEqualTo("[\"function\"]");
        assertThat(tool.at("/required").toString()).contains("\"type\"", "\"function\"");
        assertThat(schema("FunctionDefinition").at("/properties/name/pattern").asText())
                .isEqualTo("^[a-zA-Z0-9_-]{1,64}$");
        assertThat(schema("ChatCompletionNamedToolChoice").at("/properties/function/$ref").asText())
                .isEqualTo("#/components/schemas/ChatCompletionNamedToolChoiceFunction");
        JsonNode message = schema("ChatCompletionRequestMessage");
        assertThat(message.at("/properties/tool_calls/items/$ref").asText())
                .isEqualTo("#/components/schemas/ChatCompletionMessageToolCall");
        assertThat(message.has("properties") && message.get("properties").has("tool_call_id")).isTrue();
        // The answer: calls in message.tool_calls, and content may be null beside them.
        assertThat(schema("ChatCompletionMessageToolCall").at("/required").toString())
                .contains("\"id\"", "\"type\"", "\"function\"");
        assertThat(schema("Entry").at("/properties/supports_auto_tool_choice/type").toString()).contains("boolean");
    }

    private JsonNode schema(String name) {
        JsonNode schema = document.at("/components/schemas/" + name);
        assertThat(schema.isMissingNode()).as(name).isFalse();
        return schema;
    }

    private JsonNode parameter(String path, String method, String name) {
        for (JsonNode parameter : document.get("paths").get(path).get(method).get("parameters")) {
            if (parameter.get("name").asText().equals(name)) {
                return parameter;
            }
        }
        throw new AssertionError(method + " " + path + " has no parameter " + name);
    }
}
