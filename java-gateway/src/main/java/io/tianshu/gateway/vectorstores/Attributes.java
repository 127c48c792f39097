package io.tianshu.gateway.vectorstores;

import static io.tianshu.gateway.error.ApiException.invalidRequest;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.google.protobuf.Struct;
import io.tianshu.gateway.rag.Structs;
import java.util.Map;

/**
 * A vector store file's attributes, checked as OpenAI defines them: at most 16 pairs, keys of
 * at most 64 characters, values strings of at most 512 characters, numbers or booleans. They
 * become the RAG document's metadata, which search filters read.
 */
final class Attributes {

    static final int MAX_PAIRS = 16;
    static final int MAX_KEY = 64;
    static final int MAX_STRING = 512;

    private Attributes() {
    }

    /** The attributes as an object (empty for absent or null), or a 400 naming param. */
    static ObjectNode checked(JsonNode attributes, String param) {
        if (attributes == null || attributes.isNull()) {
            return JsonNodeFactory.instance.objectNode();
        }
        if (!attributes.isObject()) {
            throw invalidRequest("Invalid type for '" + param + "': expected an object.", param);
        }
        if (attributes.size() > MAX_PAIRS) {
            throw invalidRequest("'" + param + "' holds at most " + MAX_PAIRS + " pairs, not " + attributes.size()
                    + ".", param);
        }
        for (Map.Entry<String, JsonNode> pair : attributes.properties()) {
            String key = pair.getKey();
            JsonNode value = pair.getValue();
            if (key.isEmpty() || key.length() > MAX_KEY || key.indexOf('\u0000') >= 0) {
                throw invalidRequest("'" + param + "' keys have 1 to " + MAX_KEY + " characters, none of them NUL "
                        + "(U+0000).", param);
            }
            // NUL: neither the gateway's nor the RAG service's jsonb can store it.
            boolean scalar = value.isTextual() && value.asText().length() <= MAX_STRING
                    && value.asText().indexOf('\u0000') < 0 || value.isNumber() || value.isBoolean();
            if (!scalar) {
                throw invalidRequest("'" + param + "." + key + "' must be a string of at most " + MAX_STRING
                        + " characters (no NUL), a number or a boolean.", param + "." + key);
            }
        }
        return (ObjectNode) attributes;
    }

    /** The checked attributes as the RAG document's metadata. */
    static Struct metadata(ObjectNode attributes) {
        return Structs.fromJson(attributes, "attributes");
    }
}
