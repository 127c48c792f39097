package io.tianshu.gateway.web;

import static io.tianshu.gateway.error.ApiException.invalidRequest;

import java.util.Map;

/** OpenAI's metadata of an object (a batch, a vector store): at most 16 string pairs, checked as OpenAI does. */
public final class OpenAiMetadata {

    public static final int MAX_PAIRS = 16;
    public static final int MAX_KEY = 64;
    public static final int MAX_VALUE = 512;
    /** For OpenAPI descriptions. */
    public static final String RULES = "At most 16 pairs; keys of at most 64 characters, values strings of at most 512";

    private OpenAiMetadata() {
    }

    /** The metadata (empty for null), or a 400 naming param. */
    public static Map<String, String> checked(Map<String, String> metadata, String param) {
        if (metadata == null) {
            return Map.of();
        }
        if (metadata.size() > MAX_PAIRS) {
            throw invalidRequest(param + " holds at most " + MAX_PAIRS + " pairs.", param);
        }
        metadata.forEach((key, value) -> {
            if (key.length() > MAX_KEY) {
                throw invalidRequest(param + " keys are at most " + MAX_KEY + " characters.", param);
            }
            if (value == null || value.length() > MAX_VALUE) {
                throw invalidRequest(param + " values are strings of at most " + MAX_VALUE + " characters ('" + key
                        + "').", param);
            }
        });
        return metadata;
    }
}
