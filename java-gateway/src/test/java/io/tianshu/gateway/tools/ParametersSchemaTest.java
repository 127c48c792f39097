package io.tianshu.gateway.tools;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatCode;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.tianshu.gateway.error.ApiException;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/** A function's parameters checked against the meta-schema of its dialect, offline. */
class ParametersSchemaTest {

    private static final ObjectMapper JSON = new ObjectMapper();
    private static final String PARAM = "tools[0].function.parameters";

    private static void check(String schema) throws Exception {
        ParametersSchema.check(JSON.readTree(schema), PARAM, "f");
    }

    @ParameterizedTest
    @ValueSource(strings = {
        "{}",
        "{\"type\": \"object\", \"properties\": {\"city\": {\"type\": \"string\", \"enum\": [\"Paris\", \"Rome\"]},"
                + " \"days\": {\"type\": \"integer\", \"minimum\": 1}}, \"required\": [\"city\"],"
                + " \"additionalProperties\": false}",
        "{\"type\": \"object\", \"properties\": {\"when\": {\"$ref\": \"#/$defs/date\"}},"
                + " \"$defs\": {\"date\": {\"type\": \"string\", \"format\": \"date\"}}}",
        "{\"type\": \"object\", \"properties\": {\"any\": true, \"x\": {\"anyOf\": [{\"type\": \"null\"},"
                + " {\"type\": \"number\"}]}}}",
        // A reference elsewhere is only data to the meta-schema: nothing is fetched.
        "{\"$ref\": \"https://schemas.example.invalid/weather.json\"}",
        "{\"$schema\": \"http://json-schema.org/draft-07/schema#\", \"type\": \"object\","
                + " \"properties\": {\"pair\": {\"type\": \"array\", \"items\": [{\"type\": \"string\"},"
                + " {\"type\": \"number\"}]}}}",
        "{\"$schema\": \"http://json-schema.org/draft-04/schema\", \"type\": \"object\"}",
    })
    void validSchemasPass(String schema) {
        assertThatCode(() -> check(schema)).doesNotThrowAnyException();
    }

    @Test
    void theDialectItNamesDecides() {
        // Tuple items are draft-07's; 2020-12, the default, wants a schema there.
        String tuple = "\"type\": \"object\", \"properties\": {\"pair\": {\"type\": \"array\","
                + " \"items\": [{\"type\": \"string\"}]}}";

        assertThatCode(() -> check("{\"$schema\": \"http://json-schema.org/draft-07/schema#\", " + tuple + "}"))
                .doesNotThrowAnyException();
        assertThatThrownBy(() -> check("{" + tuple + "}")).isInstanceOf(ApiException.class)
                .hasMessageContaining("at '/properties/pair/items'");
    }

    @Test
    void anInvalidSchemaIsRefusedWithWhereAndWhy() {
        assertThatThrownBy(() -> check("{\"type\": \"object\", \"required\": \"city\","
                + " \"properties\": {\"n\": {\"type\": \"integer\", \"minimum\": \"one\"}}}"))
                .isInstanceOfSatisfying(ApiException.class, e -> {
                    assertThat(e).extracting("param").isEqualTo(PARAM);
                    assertThat(e.getMessage()).startsWith("Invalid schema for function 'f': '" + PARAM
                            + "' is not a valid JSON Schema: ")
                            .contains("at '/required': ", "at '/properties/n/minimum': ");
                });
    }

    @Test
    void onlyAnObjectIsASchemaForParameters() {
        for (String notObject : new String[] {"true", "[]", "\"object\"", "1"}) {
            assertThatThrownBy(() -> check(notObject)).isInstanceOf(ApiException.class)
                    .hasMessage("Invalid type for '" + PARAM + "': expected a JSON Schema object.");
        }
    }

    @Test
    void anUnknownDialectIsRefusedNamingTheKnownOnes() {
        assertThatThrownBy(() -> check("{\"$schema\": \"https://json-schema.org/draft/2031-01/schema\"}"))
                .isInstanceOfSatisfying(ApiException.class, e -> {
                    assertThat(e).extracting("param").isEqualTo(PARAM + ".$schema");
                    assertThat(e.getMessage()).contains("http://json-schema.org/draft-04/schema",
                            "https://json-schema.org/draft/2020-12/schema");
                });
    }

    @Test
    void nestingIsBoundedBeforeTheMetaSchemaRecursesIntoIt() throws Exception {
        String atLimit = "{\"properties\": {\"a\": ".repeat(31) + "{\"type\": [\"string\"]}" + "}}".repeat(31);
        String deep = "{\"properties\": {\"a\": ".repeat(480) + "{}" + "}}".repeat(480);

        assertThatCode(() -> check(atLimit)).doesNotThrowAnyException();
        assertThat(depthOf(JSON.readTree(atLimit))).isEqualTo(ParametersSchema.MAX_DEPTH);
        assertThatThrownBy(() -> check(deep)).isInstanceOf(ApiException.class)
                .hasMessageContaining("nests objects and arrays more than 64 levels deep");
    }

    private static int depthOf(JsonNode node) {
        int deepest = 0;
        for (JsonNode child : node) {
            deepest = Math.max(deepest, depthOf(child));
        }
        return node.isContainerNode() ? deepest + 1 : 0;
    }

    @Test
    void aSchemaIsRefusedEveryTimeAndOnceAcceptedStaysAcceptedByItsText() throws Exception {
        JsonNode invalid = JSON.readTree("{\"type\": \"object\", \"required\": \"city\"}");
        for (int i = 0; i < 2; i++) {
            assertThatThrownBy(() -> ParametersSchema.check(invalid, invalid.toString(), PARAM, "f"))
                    .isInstanceOf(ApiException.class).hasMessageContaining("required");
        }
        JsonNode valid = JSON.readTree("{\"type\": \"object\", \"required\": [\"city\"]}");
        assertThatCode(() -> ParametersSchema.check(valid, valid.toString(), PARAM, "f")).doesNotThrowAnyException();
        assertThatCode(() -> ParametersSchema.check(valid, valid.toString(), PARAM, "g")).doesNotThrowAnyException();
    }
}
