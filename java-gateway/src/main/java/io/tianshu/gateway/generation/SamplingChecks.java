package io.tianshu.gateway.generation;

import static io.tianshu.gateway.error.ApiException.invalidRequest;

import com.fasterxml.jackson.databind.JsonNode;
import io.tianshu.inference.v1.Model;
import io.tianshu.inference.v1.SamplingParams;
import java.util.ArrayList;
import java.util.List;
import java.util.function.Consumer;

/**
 * The one check of OpenAI's sampling fields, for chat and legacy completions: each against
 * OpenAI's range, so the caller learns which field is wrong before any backend is involved,
 * then set on {@link SamplingParams}; and, once the model is known, its own limits on choices
 * and log-probabilities.
 */
public final class SamplingChecks {

    /** The sampling fields chat and legacy completions share, as the caller wrote them. */
    public record Common(Double temperature, Double topP, JsonNode stop, Long seed, Double presencePenalty,
            Double frequencyPenalty, Integer n) {
    }

    private SamplingChecks() {
    }

    /**
     * The shared fields, checked in the order the caller reads them in OpenAI's reference, with
     * the route's own fields at their places: the first wrong field is the one named.
     *
     * @param lengthFields the route's fields after top_p (top_k, max_tokens, ...)
     * @param logprobFields the route's fields after n (logprobs, top_logprobs)
     */
    public static SamplingParams sampling(Common fields, Consumer<SamplingParams.Builder> lengthFields,
            Consumer<SamplingParams.Builder> logprobFields) {
        SamplingParams.Builder sampling = SamplingParams.newBuilder();
        if (fields.temperature() != null) {
            sampling.setTemperature(inRange(fields.temperature(), 0, 2, "temperature"));
        }
        if (fields.topP() != null) {
            if (fields.topP() <= 0 || fields.topP() > 1) {
                throw invalidRequest("'top_p' is " + fields.topP() + "; it must be greater than 0 and at most 1.",
                        "top_p");
            }
            sampling.setTopP(fields.topP().floatValue());
        }
        lengthFields.accept(sampling);
        sampling.addAllStop(stops(fields.stop()));
        if (fields.seed() != null) {
            sampling.setSeed(fields.seed());
        }
        if (fields.presencePenalty() != null) {
            sampling.setPresencePenalty(inRange(fields.presencePenalty(), -2, 2, "presence_penalty"));
        }
        if (fields.frequencyPenalty() != null) {
            sampling.setFrequencyPenalty(inRange(fields.frequencyPenalty(), -2, 2, "frequency_penalty"));
        }
        positive(fields.n(), "n");
        if (fields.n() != null) {
            sampling.setN(fields.n());
        }
        logprobFields.accept(sampling);
        return sampling.build();
    }

    /**
     * Limits that depend on the model, checked once the model is known to exist.
     *
     * @param logprobs the alternatives asked per token, under the name the route calls them
     */
    public static void modelLimits(Integer n, Integer logprobs, String logprobsParam, Model model) {
        if (n != null && model.getMaxChoices() > 0 && n > model.getMaxChoices()) {
            throw invalidRequest("'n' is " + n + "; model '" + model.getId() + "' allows at most "
                    + model.getMaxChoices() + ".", "n");
        }
        if (logprobs != null && model.getMaxLogprobs() > 0 && logprobs > model.getMaxLogprobs()) {
            throw invalidRequest("'" + logprobsParam + "' is " + logprobs + "; model '" + model.getId()
                    + "' allows at most " + model.getMaxLogprobs() + ".", logprobsParam);
        }
    }

    /** A value the caller may leave out, or a whole number from {@code min} to {@code max}. */
    public static void between(Integer value, int min, int max, String param) {
        if (value != null && (value < min || value > max)) {
            throw invalidRequest("'" + param + "' is " + value + "; it must be between " + min + " and " + max + ".",
                    param);
        }
    }

    public static void positive(Integer value, String param) {
        if (value != null && value < 1) {
            throw invalidRequest("'" + param + "' is " + value + "; it must be at least 1.", param);
        }
    }

    private static float inRange(double value, double min, double max, String param) {
        if (Double.isNaN(value) || value < min || value > max) {
            throw invalidRequest("'" + param + "' is " + value + "; it must be between " + min + " and " + max + ".",
                    param);
        }
        return (float) value;
    }

    private static List<String> stops(JsonNode stop) {
        if (stop == null || stop.isNull()) {
            return List.of();
        }
        if (stop.isTextual()) {
            return List.of(stop.asText());
        }
        if (stop.isArray()) {
            List<String> stops = new ArrayList<>();
            for (JsonNode s : stop) {
                if (!s.isTextual()) {
                    throw badStop();
                }
                stops.add(s.asText());
            }
            return stops;
        }
        throw badStop();
    }

    private static RuntimeException badStop() {
        return invalidRequest("Invalid type for 'stop': expected a string or an array of strings.", "stop");
    }
}
