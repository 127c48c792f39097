package io.tianshu.gateway.tokens;

import ai.djl.huggingface.tokenizers.HuggingFaceTokenizer;
import ai.djl.huggingface.tokenizers.jni.TokenizersLibrary;
import io.tianshu.inference.v1.ChatMessage;
import io.tianshu.inference.v1.GetTokenizerResponse;
import io.tianshu.inference.v1.Tool;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.util.List;
import java.util.Map;

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

    private final HuggingFaceTokenizer tokenizer;
    private final ChatTemplate template;

    private ModelTokenizer(HuggingFaceTokenizer tokenizer, ChatTemplate template) {
        this.tokenizer = tokenizer;
        this.template = template;
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
        return new ModelTokenizer(tokenizer, template);
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
