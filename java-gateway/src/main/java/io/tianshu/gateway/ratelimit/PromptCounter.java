package io.tianshu.gateway.ratelimit;

import io.micrometer.core.instrument.MeterRegistry;
import io.tianshu.gateway.calltrace.CallTrace;
import io.tianshu.gateway.backend.InferenceClient;
import io.tianshu.gateway.tokens.LocalTokenizers;
import io.tianshu.inference.v1.ChatMessage;
import io.tianshu.inference.v1.Generation;
import io.tianshu.inference.v1.Model;
import io.tianshu.inference.v1.TokenizeRequest;
import io.tianshu.inference.v1.Tool;
import io.tianshu.inference.v1.ToolCall;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.OptionalInt;
import org.springframework.stereotype.Component;
import reactor.core.publisher.Mono;
import reactor.core.scheduler.Schedulers;

/** What a call may cost, worked out before admission. */
@Component
public class PromptCounter {

    // Embedding tokenizers add a start and an end token to every text.
    private static final int SPECIAL_TOKENS_PER_TEXT = 2;

    // Longer prompts are counted off the event loop, which a few milliseconds of rendering
    // and encoding would hold up for every other request on it.
    private static final int INLINE_COUNT_CHARS = 16_384;

    private final InferenceClient inference;
    private final LocalTokenizers local;

    private final MeterRegistry meters;

    PromptCounter(InferenceClient inference, LocalTokenizers local, MeterRegistry meters) {
        this.inference = inference;
        this.local = local;
        this.meters = meters;
    }

    /**
     * A generation whose prompt is counted, as it is to be sent on.
     *
     * @param countedHere whether the gateway counted it, so that the count is to be checked
     *     against the prompt tokens the call reports
     */
    public record CountedGeneration(Generation generation, Estimate estimate, boolean countedHere) {
    }

    /**
     * Exact either way. Counted in the gateway when the model's tokenizer and template are
     * checked for this kind of chat ({@link LocalTokenizers}): the generation goes on as it came
     * (tools and all) and the backend renders it as the count did. Otherwise by
     * the backend's Tokenize, which renders the same chat template Generate would; its token ids
     * then replace the messages (or prompt) in the generation sent on, so the backend does not
     * render and tokenize the prompt twice.
     */
    public Mono<CountedGeneration> generation(Generation generation, Model model) {
        Integer maxTokens = generation.getSampling().hasMaxTokens() ? generation.getSampling().getMaxTokens() : null;
        int choices = generation.getSampling().hasN() ? generation.getSampling().getN() : 1;
        Mono<OptionalInt> count = Mono.fromSupplier(() -> local.count(generation));
        if (promptChars(generation) > INLINE_COUNT_CHARS) {
            count = count.subscribeOn(Schedulers.parallel());
        }
        return CallTrace.timed("count", count).flatMap(counted -> {
            meters.counter("tianshu.gateway.prompts.counted", "model", model.getId(),
                    "by", counted.isPresent() ? "gateway" : "service").increment();
            return counted.isPresent()
                    ? Mono.just(new CountedGeneration(generation,
                            Estimate.generation(counted.getAsInt(), model.getContextLength(), maxTokens, choices), true))
                    : tokenized(generation, maxTokens, choices);
        });
    }

    private static long promptChars(Generation generation) {
        long chars = generation.getPrompt().length();
        for (ChatMessage message : generation.getMessagesList()) {
            chars += message.getContent().length();
            for (ToolCall call : message.getToolCallsList()) {
                chars += call.getArguments().length();
            }
        }
        for (Tool tool : generation.getToolsList()) {
            chars += tool.getDescription().length() + tool.getParametersJson().length();
        }
        return chars;
    }

    private Mono<CountedGeneration> tokenized(Generation generation, Integer maxTokens, int choices) {
        TokenizeRequest.Builder request = TokenizeRequest.newBuilder().setModel(generation.getModel())
                .setReturnTokenIds(true);
        if (generation.getMessagesCount() > 0) {
            // The tools stay on the generation sent on: the ids returned were rendered with them.
            request.addAllMessages(generation.getMessagesList()).addAllTools(generation.getToolsList());
        } else {
            request.setPrompt(generation.getPrompt());
        }
        return CallTrace.timed("tokenize", inference.tokenize(request.build(), generation.getRequestId()))
                .map(r -> new CountedGeneration(
                        generation.toBuilder().clearMessages().clearPrompt().addAllPromptTokenIds(r.getTokenIdsList())
                                .build(),
                        Estimate.generation(r.getTokenCount(), r.getContextLength(), maxTokens, choices), false));
    }

    /**
     * An upper bound, as Tokenize serves generation models only: no tokenizer makes more
     * tokens than UTF-8 bytes, plus its special tokens, and the model truncates at its
     * context. The reservation is settled to the real count when Embed answers.
     */
    public static Estimate embedding(List<String> texts, Model model) {
        long total = 0;
        for (String text : texts) {
            total += bounded(text.getBytes(StandardCharsets.UTF_8).length, model);
        }
        return new Estimate(0, total);
    }

    /**
     * The same bound for a rerank: a cross-encoder reads the query with each document, which
     * covers an embedding model's query-once too. Settled to the real count when Rerank answers.
     */
    public static Estimate rerank(String query, List<String> documents, Model model) {
        long queryBytes = query.getBytes(StandardCharsets.UTF_8).length;
        long total = 0;
        for (String document : documents) {
            // One separator more than a text alone: [CLS] query [SEP] document [SEP].
            total += bounded(queryBytes + document.getBytes(StandardCharsets.UTF_8).length + 1, model);
        }
        return new Estimate(0, total);
    }

    private static long bounded(long bytes, Model model) {
        long bound = bytes + SPECIAL_TOKENS_PER_TEXT;
        return model.getContextLength() > 0 ? Math.min(bound, model.getContextLength()) : bound;
    }
}
