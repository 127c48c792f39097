package io.tianshu.gateway.vectorstores;

import static io.tianshu.gateway.error.ApiException.invalidRequest;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.tianshu.rag.v1.Chunking;

/**
 * OpenAI's chunking_strategy. auto (or none given) leaves the RAG service's configured chunk
 * sizes, and the file object then says {type: other}: the gateway does not know those sizes.
 * static becomes the ingest call's Chunking, checked against OpenAI's ranges here; the RAG
 * service refuses sizes above what its embedding model reads (a 400 naming chunking_strategy).
 */
final class ChunkingStrategies {

    private static final int MIN_SIZE = 100;
    private static final int MAX_SIZE = 4096;

    /** What to ask the RAG service for (null = its own sizes) and what the file object reports. */
    record Strategy(Chunking chunking, ObjectNode reported) {
        static final Strategy AUTO = new Strategy(null, JsonNodeFactory.instance.objectNode().put("type", "other"));
    }

    private ChunkingStrategies() {
    }

    static Strategy checked(JsonNode strategy, String param) {
        if (strategy == null || strategy.isNull()) {
            return Strategy.AUTO;
        }
        if (!strategy.isObject()) {
            throw invalidRequest("Invalid type for '" + param + "': expected an object.", param);
        }
        String type = strategy.path("type").asText("");
        if (type.equals("auto")) {
            return Strategy.AUTO;
        }
        if (!type.equals("static")) {
            throw invalidRequest("'" + param + ".type' must be \"auto\" or \"static\".", param + ".type");
        }
        JsonNode sizes = strategy.path("static");
        int size = integer(sizes.get("max_chunk_size_tokens"), param + ".static.max_chunk_size_tokens");
        int overlap = integer(sizes.get("chunk_overlap_tokens"), param + ".static.chunk_overlap_tokens");
        if (size < MIN_SIZE || size > MAX_SIZE) {
            throw invalidRequest("'" + param + ".static.max_chunk_size_tokens' must be between " + MIN_SIZE + " and "
                    + MAX_SIZE + ".", param + ".static.max_chunk_size_tokens");
        }
        if (overlap < 0 || overlap > size / 2) {
            throw invalidRequest("'" + param + ".static.chunk_overlap_tokens' must be between 0 and half of "
                    + "max_chunk_size_tokens (" + size / 2 + ").", param + ".static.chunk_overlap_tokens");
        }
        ObjectNode reported = JsonNodeFactory.instance.objectNode().put("type", "static");
        reported.putObject("static").put("max_chunk_size_tokens", size).put("chunk_overlap_tokens", overlap);
        return new Strategy(Chunking.newBuilder().setMaxChunkTokens(size).setOverlapTokens(overlap).build(), reported);
    }

    private static int integer(JsonNode value, String param) {
        if (value == null || !value.isIntegralNumber() || !value.canConvertToInt()) {
            throw invalidRequest("'" + param + "' is required: an integer.", param);
        }
        return value.asInt();
    }
}
