package io.tianshu.gateway.tokens;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.json.JsonMapper;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import java.math.BigDecimal;
import java.math.BigInteger;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * JSON as the inference service's chat templates see it: {@code json.loads} into Python values
 * and transformers' {@code tojson} filter ({@code json.dumps} with {@code ensure_ascii=False}
 * and the default separators, keys in their order). Tool definitions and call arguments reach
 * the model through these two, so the gateway's count of a tool chat is only exact if both are
 * reproduced to the byte. Numbers Python would print differently from their source text
 * (exponents, more digits than a double keeps) are refused rather than guessed.
 */
final class PythonJson {

    // Floats keep their source digits, so their Python repr can be worked out from them.
    private static final ObjectMapper MAPPER = JsonMapper.builder()
            .enable(DeserializationFeature.USE_BIG_DECIMAL_FOR_FLOATS)
            // json.loads refuses "{} {}" ("Extra data"); Jackson reads the first value unless told.
            .enable(DeserializationFeature.FAIL_ON_TRAILING_TOKENS)
            .nodeFactory(JsonNodeFactory.withExactBigDecimals(true))
            .build();

    // repr(float) is plain decimal from 1e-4 up to 1e16, and, with at most 15 significant
    // digits, the source's own digits (a double tells every such decimal apart).
    private static final BigDecimal PLAIN_FROM = new BigDecimal("1e-4");
    private static final BigDecimal PLAIN_BELOW = new BigDecimal("1e16");
    private static final int EXACT_DIGITS = 15;

    private PythonJson() {
    }

    /** A float as Python prints it. */
    record PythonFloat(String repr) {
        @Override
        public String toString() {
            return repr;
        }
    }

    /** A value this class cannot print as Python would. */
    static final class Unrepresentable extends RuntimeException {
        Unrepresentable(String message) {
            super(message);
        }
    }

    /** The text is not JSON (as far as Jackson reads it). */
    static final class NotJson extends RuntimeException {
        NotJson(String message) {
            super(message);
        }
    }

    /**
     * {@code json.loads}: objects as insertion-ordered maps, arrays as lists, integers as
     * Long or BigInteger, floats as {@link PythonFloat}.
     *
     * @throws NotJson when the text is not JSON
     * @throws Unrepresentable when it holds a float whose Python repr is not worked out here
     */
    static Object loads(String text) {
        try {
            return value(MAPPER.readTree(text));
        } catch (JsonProcessingException e) {
            throw new NotJson(e.getOriginalMessage());
        }
    }

    private static Object value(JsonNode node) {
        return switch (node.getNodeType()) {
            case OBJECT -> {
                Map<String, Object> map = new LinkedHashMap<>();
                for (Iterator<Map.Entry<String, JsonNode>> fields = node.fields(); fields.hasNext(); ) {
                    Map.Entry<String, JsonNode> field = fields.next();
                    map.put(field.getKey(), value(field.getValue()));
                }
                yield map;
            }
            case ARRAY -> {
                List<Object> list = new ArrayList<>(node.size());
                node.forEach(element -> list.add(value(element)));
                yield list;
            }
            case STRING -> node.textValue();
            case BOOLEAN -> node.booleanValue();
            case NULL -> null;
            case NUMBER -> node.isIntegralNumber()
                    ? (node.canConvertToLong() ? (Object) node.longValue() : node.bigIntegerValue())
                    : floatRepr(node.decimalValue());
            default -> throw new Unrepresentable("unexpected JSON node " + node.getNodeType());
        };
    }

    private static PythonFloat floatRepr(BigDecimal source) {
        BigDecimal value = source.stripTrailingZeros();
        BigDecimal magnitude = value.abs();
        if (magnitude.compareTo(PLAIN_FROM) < 0 || magnitude.compareTo(PLAIN_BELOW) >= 0
                || value.precision() > EXACT_DIGITS) {
            throw new Unrepresentable("the float " + source + " is not printed here as Python prints it");
        }
        String plain = value.toPlainString();
        return new PythonFloat(plain.indexOf('.') < 0 ? plain + ".0" : plain);
    }

    /** {@code json.dumps(value, ensure_ascii=False)}. */
    static String dumps(Object value) {
        StringBuilder out = new StringBuilder();
        write(value, out);
        return out.toString();
    }

    private static void write(Object value, StringBuilder out) {
        if (value == null) {
            out.append("null");
        } else if (value instanceof String text) {
            string(text, out);
        } else if (value instanceof Boolean bool) {
            out.append(bool ? "true" : "false");
        } else if (value instanceof Long || value instanceof Integer || value instanceof BigInteger
                || value instanceof PythonFloat) {
            out.append(value);
        } else if (value instanceof Map<?, ?> map) {
            out.append('{');
            boolean first = true;
            for (Map.Entry<?, ?> entry : map.entrySet()) {
                if (!(entry.getKey() instanceof String key)) {
                    throw new Unrepresentable("a mapping key that is not a string");
                }
                out.append(first ? "" : ", ");
                first = false;
                string(key, out);
                out.append(": ");
                write(entry.getValue(), out);
            }
            out.append('}');
        } else if (value instanceof List<?> list) {
            out.append('[');
            for (int i = 0; i < list.size(); i++) {
                out.append(i == 0 ? "" : ", ");
                write(list.get(i), out);
            }
            out.append(']');
        } else {
            // Jinjava's own numbers (a template's arithmetic) and anything else: not guessed at.
            throw new Unrepresentable("cannot print a " + value.getClass().getSimpleName() + " as Python's json does");
        }
    }

    // json's ESCAPE table: the quote, the backslash and the C0 controls, nothing else.
    private static void string(String text, StringBuilder out) {
        out.append('"');
        for (int i = 0; i < text.length(); i++) {
            char c = text.charAt(i);
            switch (c) {
                case '"' -> out.append("\\\"");
                case '\\' -> out.append("\\\\");
                case '\n' -> out.append("\\n");
                case '\r' -> out.append("\\r");
                case '\t' -> out.append("\\t");
                case '\b' -> out.append("\\b");
                case '\f' -> out.append("\\f");
                default -> {
                    if (c < 0x20) {
                        out.append(String.format("\\u%04x", (int) c));
                    } else {
                        out.append(c);
                    }
                }
            }
        }
        out.append('"');
    }
}
