package io.tianshu.gateway.vectorstores;

import static io.tianshu.gateway.error.ApiException.invalidRequest;

import com.fasterxml.jackson.databind.JsonNode;
import com.google.protobuf.ListValue;
import io.tianshu.gateway.rag.Structs;
import io.tianshu.rag.v1.ComparisonOperator;
import io.tianshu.rag.v1.CompoundOperator;
import io.tianshu.rag.v1.MetadataComparison;
import io.tianshu.rag.v1.MetadataCompound;
import io.tianshu.rag.v1.MetadataCondition;
import java.util.Map;

/**
 * OpenAI's search filters on file attributes as the RAG service's MetadataCondition: a
 * comparison {type, key, value} or a compound {type: and|or, filters}. The shapes and types are
 * checked here, naming the part at fault (filters.filters[1].value); the RAG service checks its
 * limits (depth, number of comparisons, key and value lengths) and turns the condition into SQL
 * with every key and value a bound parameter.
 */
final class SearchFilters {

    private static final Map<String, ComparisonOperator> COMPARISONS = Map.of(
            "eq", ComparisonOperator.COMPARISON_OPERATOR_EQ, "ne", ComparisonOperator.COMPARISON_OPERATOR_NE,
            "gt", ComparisonOperator.COMPARISON_OPERATOR_GT, "gte", ComparisonOperator.COMPARISON_OPERATOR_GTE,
            "lt", ComparisonOperator.COMPARISON_OPERATOR_LT, "lte", ComparisonOperator.COMPARISON_OPERATOR_LTE,
            "in", ComparisonOperator.COMPARISON_OPERATOR_IN, "nin", ComparisonOperator.COMPARISON_OPERATOR_NIN);
    private static final Map<String, CompoundOperator> COMPOUNDS = Map.of(
            "and", CompoundOperator.COMPOUND_OPERATOR_AND, "or", CompoundOperator.COMPOUND_OPERATOR_OR);
    private static final String TYPES = "eq, ne, gt, gte, lt, lte, in, nin (a comparison) or and, or (a compound)";

    private SearchFilters() {
    }

    /** The condition, or null for no filter. */
    static MetadataCondition condition(JsonNode filters) {
        return filters == null || filters.isNull() ? null : condition(filters, "filters");
    }

    private static MetadataCondition condition(JsonNode filter, String param) {
        if (!filter.isObject()) {
            throw invalidRequest("Invalid type for '" + param + "': expected an object, a comparison or compound "
                    + "filter.", param);
        }
        JsonNode typeNode = filter.get("type");
        String type = typeNode != null && typeNode.isTextual() ? typeNode.asText() : null;
        if (type != null && COMPOUNDS.containsKey(type)) {
            JsonNode filters = filter.get("filters");
            if (filters == null || !filters.isArray() || filters.isEmpty()) {
                throw invalidRequest("'" + param + ".filters' must be a non-empty list of filters.",
                        param + ".filters");
            }
            MetadataCompound.Builder compound = MetadataCompound.newBuilder().setOperator(COMPOUNDS.get(type));
            for (int i = 0; i < filters.size(); i++) {
                compound.addConditions(condition(filters.get(i), param + ".filters[" + i + "]"));
            }
            return MetadataCondition.newBuilder().setCompound(compound).build();
        }
        if (type == null || !COMPARISONS.containsKey(type)) {
            throw invalidRequest("'" + param + ".type' must be one of " + TYPES + ".", param + ".type");
        }
        JsonNode key = filter.get("key");
        if (key == null || !key.isTextual() || key.asText().isEmpty()) {
            throw invalidRequest("'" + param + ".key' is required: the attribute to compare.", param + ".key");
        }
        return MetadataCondition.newBuilder().setComparison(MetadataComparison.newBuilder()
                .setOperator(COMPARISONS.get(type)).setKey(key.asText())
                .setValue(value(type, filter.get("value"), param + ".value"))).build();
    }

    private static com.google.protobuf.Value value(String type, JsonNode value, String param) {
        boolean list = type.equals("in") || type.equals("nin");
        if (list) {
            if (value == null || !value.isArray() || value.isEmpty()) {
                throw invalidRequest("'" + param + "' must be a non-empty list of strings and numbers for " + type
                        + ".", param);
            }
            ListValue.Builder values = ListValue.newBuilder();
            for (int i = 0; i < value.size(); i++) {
                JsonNode item = value.get(i);
                if (!item.isTextual() && !item.isNumber()) {
                    throw invalidRequest("'" + param + "[" + i + "]' must be a string or a number.",
                            param + "[" + i + "]");
                }
                values.addValues(Structs.value(item));
            }
            return com.google.protobuf.Value.newBuilder().setListValue(values).build();
        }
        boolean range = !type.equals("eq") && !type.equals("ne");
        if (value == null || !(value.isTextual() || value.isNumber() || value.isBoolean() && !range)) {
            throw invalidRequest("'" + param + "' must be " + (range ? "a string or a number" : "a string, a number "
                    + "or a boolean") + " for " + type + ".", param);
        }
        return Structs.value(value);
    }
}
