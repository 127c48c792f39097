package io.tianshu.gateway.chat;

import com.fasterxml.jackson.annotation.JsonProperty;
import io.tianshu.inference.v1.TokenLogprob;
import io.tianshu.inference.v1.TopLogprob;
import java.nio.charset.StandardCharsets;
import java.util.List;

/** OpenAI's {@code logprobs} object of a choice: {@code {"content": [token, ...]}}. */
record OpenAiLogprobs(List<Token> content) {

    /** OpenAI sends the UTF-8 bytes too, so clients can rebuild tokens that split a character. */
    record Token(String token, float logprob, List<Integer> bytes,
            @JsonProperty("top_logprobs") List<Alternative> topLogprobs) {
    }

    record Alternative(String token, float logprob, List<Integer> bytes) {
    }

    static OpenAiLogprobs of(List<TokenLogprob> tokens) {
        return new OpenAiLogprobs(tokens.stream().map(OpenAiLogprobs::token).toList());
    }

    private static Token token(TokenLogprob t) {
        List<Alternative> top = t.getTopLogprobsList().stream().map(OpenAiLogprobs::alternative).toList();
        return new Token(t.getToken(), t.getLogprob(), bytes(t.getToken()), top);
    }

    private static Alternative alternative(TopLogprob t) {
        return new Alternative(t.getToken(), t.getLogprob(), bytes(t.getToken()));
    }

    private static List<Integer> bytes(String token) {
        byte[] utf8 = token.getBytes(StandardCharsets.UTF_8);
        Integer[] unsigned = new Integer[utf8.length];
        for (int i = 0; i < utf8.length; i++) {
            unsigned[i] = utf8[i] & 0xff;
        }
        return List.of(unsigned);
    }
}
