package io.tianshu.gateway.chat;

import static io.tianshu.gateway.error.ApiException.invalidRequest;

import com.fasterxml.jackson.databind.JsonNode;
import io.tianshu.inference.v1.SamplingParams;
import java.util.ArrayList;
import java.util.List;

/**
 * OpenAI sampling fields to {@link SamplingParams}, with OpenAI's ranges checked here so
 * the caller learns which field is wrong before any backend is involved. The range checks
 * are public because /v1/completions shares them.
 */
public final class SamplingMapper {

    // OpenAI's own bound on top_logprobs.
    private static final int MAX_TOP_LOGPROBS = 20;

    private SamplingMapper() {
    }

    static SamplingParams sampling(ChatCompletionRequest r) {
        SamplingParams.Builder sampling = SamplingParams.newBuilder();
        if (r.temperature() != null) {
            sampling.setTemperature(inRange(r.temperature(), 0, 2, "temperature"));
        }
        if (r.topP() != null) {
            if (r.topP() <= 0 || r.topP() > 1) {
                throw invalidRequest("'top_p' is " + r.topP() + "; it must be greater than 0 and at most 1.", "top_p");
            }
            sampling.setTopP(r.topP().floatValue());
        }
        positive(r.topK(), "top_k");
        if (r.topK() != null) {
            sampling.setTopK(r.topK());
        }
        if (Boolean.TRUE.equals(r.ignoreEos())) {
            sampling.setIgnoreEos(true);
        }
        positive(r.maxTokens(), "max_tokens");
        positive(r.maxCompletionTokens(), "max_completion_tokens");
        // max_completion_tokens is OpenAI's successor of max_tokens; it wins when both are sent.
        Integer maxTokens = r.maxCompletionTokens() != null ? r.maxCompletionTokens() : r.maxTokens();
        if (maxTokens != null) {
            sampling.setMaxTokens(maxTokens);
        }
        sampling.addAllStop(stops(r.stop()));
        if (r.seed() != null) {
            sampling.setSeed(r.seed());
        }
        if (r.presencePenalty() != null) {
            sampling.setPresencePenalty(inRange(r.presencePenalty(), -2, 2, "presence_penalty"));
        }
        if (r.frequencyPenalty() != null) {
            sampling.setFrequencyPenalty(inRange(r.frequencyPenalty(), -2, 2, "frequency_penalty"));
        }
        positive(r.n(), "n");
        if (r.n() != null) {
            sampling.setN(r.n());
        }
        if (r.topLogprobs() != null) {
            if (!r.wantsLogprobs()) {
                throw invalidRequest("'top_logprobs' requires 'logprobs' to be true.", "top_logprobs");
            }
            if (r.topLogprobs() < 0 || r.topLogprobs() > MAX_TOP_LOGPROBS) {
                throw invalidRequest("'top_logprobs' is " + r.topLogprobs() + "; it must be between 0 and "
                        + MAX_TOP_LOGPROBS + ".", "top_logprobs");
            }
        }
        if (r.wantsLogprobs()) {
            sampling.setLogprobs(r.topLogprobs() != null ? r.topLogprobs() : 0);
        }
        return sampling.build();
    }

    public static List<String> stops(JsonNode stop) {
        if (stop == null || stop.isNull()) {
            return List.of();
        }
        if (stop.isTextual()) {
            return List.of(stop.asText());
        }
        List<String> stops = new ArrayList<>();
        if (stop.isArray()) {
            for (JsonNode s : stop) {
                if (!s.isTextual()) {
                    stops = null;
                    break;
                }
                stops.add(s.asText());
            }
            if (stops != null) {
                return stops;
            }
        }
        throw invalidRequest("Invalid type for 'stop': expected a string or an array of strings.", "stop");
    }

    public static float inRange(double value, double min, double max, String param) {
        if (Double.isNaN(value) || value < min || value > max) {
            throw invalidRequest("'" + param + "' is " + value + "; it must be between " + min + " and " + max + ".", param);
        }
        return (float) value;
    }

    public static void positive(Integer value, String param) {
        if (value != null && value < 1) {
            throw invalidRequest("'" + param + "' is " + value + "; it must be at least 1.", param);
        }
    }
}
