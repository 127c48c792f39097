package io.tianshu.gateway.rag;

import static io.tianshu.gateway.error.ApiException.invalidRequest;

import com.fasterxml.jackson.databind.JsonNode;
import com.google.protobuf.ListValue;
import com.google.protobuf.NullValue;
import com.google.protobuf.Struct;
import com.google.protobuf.Value;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/** JSON objects to and from google.protobuf.Struct, for document metadata and filters. */
public final class Structs {

    private Structs() {
    }

    /** An absent or null node is an empty Struct; anything but an object is a 400 naming param. */
    public static Struct fromJson(JsonNode node, String param) {
        if (node == null || node.isNull()) {
            return Struct.getDefaultInstance();
        }
        if (!node.isObject()) {
            throw invalidRequest("Invalid type for '" + param + "': expected an object.", param);
        }
        Struct.Builder struct = Struct.newBuilder();
        node.properties().forEach(field -> struct.putFields(field.getKey(), value(field.getValue())));
        return struct.build();
    }

    public static Map<String, Object> toMap(Struct struct) {
        Map<String, Object> map = new LinkedHashMap<>();
        struct.getFieldsMap().forEach((key, value) -> map.put(key, plain(value)));
        return map;
    }

    /** One JSON value as a protobuf Value (numbers as doubles). */
    public static Value value(JsonNode node) {
        if (node.isObject()) {
            return Value.newBuilder().setStructValue(fromJson(node, "")).build();
        }
        if (node.isArray()) {
            ListValue.Builder list = ListValue.newBuilder();
            node.forEach(item -> list.addValues(value(item)));
            return Value.newBuilder().setListValue(list).build();
        }
        if (node.isNumber()) {
            return Value.newBuilder().setNumberValue(node.asDouble()).build();
        }
        if (node.isBoolean()) {
            return Value.newBuilder().setBoolValue(node.asBoolean()).build();
        }
        if (node.isNull()) {
            return Value.newBuilder().setNullValue(NullValue.NULL_VALUE).build();
        }
        return Value.newBuilder().setStringValue(node.asText()).build();
    }

    private static Object plain(Value value) {
        return switch (value.getKindCase()) {
            case STRUCT_VALUE -> toMap(value.getStructValue());
            case LIST_VALUE -> {
                List<Object> list = new ArrayList<>();
                value.getListValue().getValuesList().forEach(item -> list.add(plain(item)));
                yield list;
            }
            // Struct numbers are doubles; whole ones go back out as the integers they were.
            case NUMBER_VALUE -> {
                double d = value.getNumberValue();
                yield d == Math.rint(d) && Math.abs(d) < 1e15 ? (Object) (long) d : (Object) d;
            }
            case BOOL_VALUE -> value.getBoolValue();
            case STRING_VALUE -> value.getStringValue();
            default -> null;
        };
    }
}
