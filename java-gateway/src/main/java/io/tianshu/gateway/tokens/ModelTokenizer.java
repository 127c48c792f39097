package io.tianshu.gateway.tokens;

import ai.djl.huggingface.tokenizers.HuggingFaceTokenizer;
import ai.djl.huggingface.tokenizers.jni.TokenizersLibrary;
import com.github.benmanes.caffeine.cache.Cache;
import com.github.benmanes.caffeine.cache.Caffeine;
import io.tianshu.inference.v1.ChatMessage;
import io.tianshu.inference.v1.GetTokenizerResponse;
import io.tianshu.inference.v1.Tool;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * One model's prompts counted in the gateway, with what the inference service counts them
 * with (GetTokenizer): a chat rendered by the model's chat template and encoded without
 * adding special tokens (the template holds them), a raw prompt encoded with them.
 */
final class ModelTokenizer implements AutoCloseable {

    static {
        // DJL reports each start to AWS unless told not to; a gateway makes no such calls.
        if (System.getProperty("OPT_OUT_TRACKING") == null && System.getenv("OPT_OUT_TRACKING") == null) {
            System.setProperty("OPT_OUT_TRACKING", "true");
        }
    }

    // Exactly what the tokenizer.json says, nothing cut or padded to a length.
    private static final Map<String, String> AS_DEFINED = Map.of("truncation", "false", "padding", "false");

    // Characters of chat pieces whose counts are kept (about 2 bytes each): the system
    // prompts, tool lists and earlier turns of some thousands of conversations.
    private static final long PIECE_CACHE_CHARS = 8_000_000;

    private final HuggingFaceTokenizer tokenizer;
    private final ChatTemplate template;
    private final Optional<AddedTokenSplit> split;
    private final Cache<String, Integer> pieceCounts = Caffeine.newBuilder()
            .maximumWeight(PIECE_CACHE_CHARS).weigher((String piece, Integer count) -> piece.length()).build();

    private ModelTokenizer(HuggingFaceTokenizer tokenizer, ChatTemplate template, Optional<AddedTokenSplit> split) {
        this.tokenizer = tokenizer;
        this.template = template;
        this.split = split;
    }

    static ModelTokenizer of(GetTokenizerResponse definition) {
        HuggingFaceTokenizer tokenizer;
        try {
            tokenizer = HuggingFaceTokenizer.newInstance(definition.getTokenizerJson().newInput(), AS_DEFINED);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        ChatTemplate template = definition.getChatTemplate().isEmpty() ? null
                : new ChatTemplate(definition.getChatTemplate(), definition.getTemplateVariablesMap());
        return new ModelTokenizer(tokenizer, template, AddedTokenSplit.of(definition.getTokenizerJson()));
    }

    /**
     * @throws ChatTemplate.TemplateFailure when the chat cannot be rendered here
     */
    int[] chatIds(List<ChatMessage> messages, List<Tool> tools) {
        if (template == null) {
            throw new ChatTemplate.TemplateFailure("the model has no chat template");
        }
        return ids(template.render(messages, tools), false);
    }

    /**
     * The number of {@link #chatIds}, counted piece by piece between the added tokens where
     * that is exact ({@link AddedTokenSplit}), each piece's count kept: a conversation resends
     * its system prompt, tools and earlier turns with every request.
     *
     * @throws ChatTemplate.TemplateFailure when the chat cannot be rendered here
     */
    int chatCount(List<ChatMessage> messages, List<Tool> tools) {
        if (template == null) {
            throw new ChatTemplate.TemplateFailure("the model has no chat template");
        }
        String text = template.render(messages, tools);
        return split.map(s -> s.count(text, piece -> pieceCounts.get(piece, p -> ids(p, false).length)))
                .orElseGet(() -> ids(text, false).length);
    }

    /** Pieces whose counts are kept (for tests). */
    long piecesKept() {
        pieceCounts.cleanUp();
        return pieceCounts.estimatedSize();
    }

    int[] promptIds(String prompt) {
        return ids(prompt, true);
    }

    private int[] ids(String text, boolean addSpecialTokens) {
        // The binding's own encode() also copies out every token's text, offsets and masks,
        // which costs more than the encoding itself; only the ids are wanted. (Its text
        // preprocessing, lower-casing or stripping accents, is off for tokenizers built
        // from a tokenizer.json alone.)
        long encoding = TokenizersLibrary.LIB.encode(tokenizer.getHandle(), text, addSpecialTokens);
        long[] ids;
        try {
            ids = TokenizersLibrary.LIB.getTokenIds(encoding);
        } finally {
            TokenizersLibrary.LIB.deleteEncoding(encoding);
        }
        int[] narrowed = new int[ids.length];
        for (int i = 0; i < ids.length; i++) {
            narrowed[i] = (int) ids[i];
        }
        return narrowed;
    }

    @Override
    public void close() {
        tokenizer.close();
    }
}
