package io.tianshu.gateway.ratelimit;

import io.tianshu.gateway.backend.CallTrace;
import io.tianshu.gateway.backend.InferenceClient;
import io.tianshu.inference.v1.Generation;
import io.tianshu.inference.v1.Model;
import io.tianshu.inference.v1.TokenizeRequest;
import java.nio.charset.StandardCharsets;
import java.util.List;
import org.springframework.stereotype.Component;
import reactor.core.publisher.Mono;

/** What a call may cost, worked out before admission. */
@Component
public class PromptCounter {

    // Embedding tokenizers add a start and an end token to every text.
    private static final int SPECIAL_TOKENS_PER_TEXT = 2;

    private final InferenceClient inference;

    PromptCounter(InferenceClient inference) {
        this.inference = inference;
    }

    /** A generation whose prompt is counted, and the same generation as token ids. */
    public record CountedGeneration(Generation tokenized, Estimate estimate) {
    }

    /**
     * Exact: the backend's Tokenize renders the same chat template Generate would. Its token
     * ids replace the messages (or prompt) in the generation sent on, so the backend does not
     * render and tokenize the prompt a second time.
     */
    public Mono<CountedGeneration> generation(Generation generation) {
        TokenizeRequest.Builder request = TokenizeRequest.newBuilder().setModel(generation.getModel())
                .setReturnTokenIds(true);
        if (generation.getMessagesCount() > 0) {
            request.addAllMessages(generation.getMessagesList());
        } else {
            request.setPrompt(generation.getPrompt());
        }
        Integer maxTokens = generation.getSampling().hasMaxTokens() ? generation.getSampling().getMaxTokens() : null;
        int choices = generation.getSampling().hasN() ? generation.getSampling().getN() : 1;
        return CallTrace.timed("tokenize", inference.tokenize(request.build(), generation.getRequestId()))
                .map(r -> new CountedGeneration(
                        generation.toBuilder().clearMessages().clearPrompt().addAllPromptTokenIds(r.getTokenIdsList())
                                .build(),
                        Estimate.generation(r.getTokenCount(), r.getContextLength(), maxTokens, choices)));
    }

    /**
     * An upper bound, as Tokenize serves generation models only: no tokenizer makes more
     * tokens than UTF-8 bytes, plus its special tokens, and the model truncates at its
     * context. The reservation is settled to the real count when Embed answers.
     */
    public static Estimate embedding(List<String> texts, Model model) {
        long total = 0;
        for (String text : texts) {
            long bound = text.getBytes(StandardCharsets.UTF_8).length + SPECIAL_TOKENS_PER_TEXT;
            total += model.getContextLength() > 0 ? Math.min(bound, model.getContextLength()) : bound;
        }
        return new Estimate(0, total);
    }
}
