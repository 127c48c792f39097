package io.tianshu.gateway.error;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import io.tianshu.gateway.support.GatewayTest;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.springframework.http.MediaType;

/**
 * A body or query the gateway cannot read is a 400 in the API's words: what is wrong and
 * where, never the parser's internals (Java types, Jackson features and settings, source
 * locations as Jackson prints them).
 */
class RequestReadingErrorsTest extends GatewayTest {

    private static final String CHAT = "{\"model\": \"tiny-chat\", \"messages\": [{\"role\": \"user\", \"content\": \"Hi\"}]";

    @ParameterizedTest(name = "{0}")
    @CsvSource(delimiter = '|', value = {
        "cut short|" + CHAT + "|We could not parse the JSON body of your request: it ends before the JSON value is "
                + "complete (line 1, column 71).|",
        "NaN|" + CHAT + ", \"temperature\": NaN}|We could not parse the JSON body of your request: Non-standard "
                + "token 'NaN' (line 1, column 91).|",
        "a number of 1200 digits|" + CHAT + ", \"temperature\": 1#}|We could not parse the JSON body of your "
                + "request: it holds a number with more digits than this gateway reads.|",
        "1200 nested arrays|{\"model\": \"tiny-chat\", \"messages\": [{\"role\": \"user\", \"content\": [#]}]}|We "
                + "could not parse the JSON body of your request: it nests arrays and objects deeper than this gateway "
                + "reads.|",
        "a second object after the first|" + CHAT + "} {}|The request body must be one JSON object with nothing "
                + "after it.|",
        "an integer beyond 32 bits|" + CHAT + ", \"max_tokens\": 99999999999999999999}|Invalid value for "
                + "'max_tokens': the number is out of range for an integer.|max_tokens",
    })
    void aBodyThatCannotBeReadIsNamedInTheApisWords(String what, String body, String message, String param) {
        JsonNode error = post("/v1/chat/completions", body.replace("1#", "1" + "0".repeat(1200))
                .replace("[#]", "[".repeat(1200) + "]".repeat(1200)));

        assertThat(error.get("message").asText()).isEqualTo(message);
        assertThat(error.get("param").isNull() ? null : error.get("param").asText()).isEqualTo(param);
        assertNoInternals(error);
    }

    @ParameterizedTest(name = "{0}")
    @CsvSource(delimiter = '|', value = {
        "/v1/batches?limit=abc|limit|Invalid value for 'limit': expected an integer.",
        "/v1/files?limit=ten|limit|Invalid value for 'limit': expected an integer.",
        "/v1/admin/audit?limit=x|limit|Invalid value for 'limit': expected an integer.",
    })
    void aQueryParameterOfTheWrongTypeIsNamed(String uri, String param, String message) {
        JsonNode error = web.get().uri(uri).exchange().expectStatus().isBadRequest()
                .expectBody(JsonNode.class).returnResult().getResponseBody().get("error");

        assertThat(error.get("message").asText()).isEqualTo(message);
        assertThat(error.get("param").asText()).isEqualTo(param);
    }

    @ParameterizedTest(name = "{0}")
    @CsvSource(delimiter = '|', value = {
        "a word for a time|{\"tenant\": \"default\", \"name\": \"k\", \"scopes\": [\"chat\"], \"expires_at\": "
                + "\"tomorrow\"}|Invalid type for 'expires_at': expected an ISO-8601 date-time such as "
                + "\"2027-01-31T00:00:00Z\".",
    })
    void aTimeThatIsNotOneSaysWhatIsExpected(String what, String body, String message) {
        JsonNode error = post("/v1/admin/keys", body);

        assertThat(error.get("message").asText()).isEqualTo(message);
        assertNoInternals(error);
    }

    private JsonNode post(String uri, String body) {
        return web.post().uri(uri).contentType(MediaType.APPLICATION_JSON).bodyValue(body).exchange()
                .expectStatus().isBadRequest()
                .expectBody(JsonNode.class).returnResult().getResponseBody().get("error");
    }

    private static void assertNoInternals(JsonNode error) {
        assertThat(error.get("message").asText()).doesNotContain("`", "java.", "com.fasterxml", "[Source",
                "StreamRead", "JsonReadFeature", "REDACTED");
    }
}
