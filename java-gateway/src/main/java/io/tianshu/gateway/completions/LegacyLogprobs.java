package io.tianshu.gateway.completions;

import com.fasterxml.jackson.databind.PropertyNamingStrategies;
import com.fasterxml.jackson.databind.annotation.JsonNaming;
import io.tianshu.inference.v1.TokenLogprob;
import io.tianshu.inference.v1.TopLogprob;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The legacy completions' logprobs object: parallel lists of tokens, their log-probabilities,
 * the top alternatives as {token: logprob} maps, and each token's character offset in the text.
 */
@JsonNaming(PropertyNamingStrategies.SnakeCaseStrategy.class)
record LegacyLogprobs(List<String> tokens, List<Float> tokenLogprobs, List<Map<String, Float>> topLogprobs,
        List<Integer> textOffset) {

    /** @param offset character offset of the first token within the choice's text */
    static LegacyLogprobs of(List<TokenLogprob> logprobs, int offset) {
        List<String> tokens = new ArrayList<>();
        List<Float> values = new ArrayList<>();
        List<Map<String, Float>> top = new ArrayList<>();
        List<Integer> offsets = new ArrayList<>();
        int at = offset;
        for (TokenLogprob t : logprobs) {
            tokens.add(t.getToken());
            values.add(t.getLogprob());
            Map<String, Float> alternatives = new LinkedHashMap<>();
            for (TopLogprob alt : t.getTopLogprobsList()) {
                alternatives.putIfAbsent(alt.getToken(), alt.getLogprob());
            }
            top.add(alternatives);
            offsets.add(at);
            at += t.getToken().length();
        }
        return new LegacyLogprobs(tokens, values, top, offsets);
    }
}
