package io.tianshu.gateway.tokens;

import com.hubspot.jinjava.Jinjava;
import com.hubspot.jinjava.JinjavaConfig;
import com.hubspot.jinjava.interpret.Context;
import com.hubspot.jinjava.interpret.InterpretException;
import com.hubspot.jinjava.interpret.JinjavaInterpreter;
import com.hubspot.jinjava.interpret.TemplateError;
import com.hubspot.jinjava.lib.fn.ELFunctionDefinition;
import com.hubspot.jinjava.tree.Node;
import io.tianshu.inference.v1.ChatMessage;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.regex.Pattern;

/**
 * A model's chat template rendered the way transformers' {@code apply_chat_template} renders
 * it: Jinja with trim_blocks and lstrip_blocks, given {@code messages},
 * {@code add_generation_prompt=true}, the special tokens by name and a {@code raise_exception}
 * function. Jinjava is not Python's jinja2 (no Python string methods, for one), so a template
 * that renders here is still checked against the inference service's own counts before the
 * gateway relies on it ({@link PromptCounts}).
 */
final class ChatTemplate {

    private static final Jinjava JINJA = jinja();
    // jinja2 strips all whitespace before "{{-", "{%-", "{#-" and after "-}}", "-%}", "-#}".
    // Jinjava misses some of it (an indented "{{-" on the line after a block tag), so it is
    // done here, on the source, before Jinjava parses it.
    private static final Pattern SPACE_BEFORE_DASH = Pattern.compile("\\s+(?=\\{[{%#]-)");
    private static final Pattern SPACE_AFTER_DASH = Pattern.compile("(?<=-(?:}}|%}|#}))\\s+");

    private final Node tree;
    private final Map<String, String> variables;

    /**
     * @throws TemplateFailure when the template does not parse
     */
    ChatTemplate(String source, Map<String, String> variables) {
        // Parsed once: Jinjava's own render(String) parses the source and copies its whole
        // function and filter registry on every call, which costs more than the render.
        JinjavaInterpreter parser = JINJA.newInterpreter();
        String stripped = SPACE_AFTER_DASH.matcher(SPACE_BEFORE_DASH.matcher(source).replaceAll("")).replaceAll("");
        this.tree = parser.parse(stripped);
        failOnFatal(parser.getErrorsCopy());
        this.variables = Map.copyOf(variables);
    }

    /**
     * The chat as the model reads it, ready for the assistant's turn.
     *
     * @throws TemplateFailure when the template raises, or uses what Jinjava cannot render
     */
    String render(List<ChatMessage> messages) {
        List<Map<String, Object>> chat = new ArrayList<>(messages.size());
        for (ChatMessage message : messages) {
            chat.add(Map.of("role", message.getRole(), "content", message.getContent()));
        }
        Map<String, Object> bindings = new HashMap<>(variables);
        bindings.put("messages", chat);
        bindings.put("add_generation_prompt", true);
        // The global context holds the functions and filters; this render's names live in a
        // child context of its own, so renders on several threads share nothing they write.
        Context context = new Context(JINJA.getGlobalContext(), bindings, JINJA.getGlobalConfig().getDisabled());
        JinjavaInterpreter interpreter = new JinjavaInterpreter(JINJA, context, JINJA.getGlobalConfig());
        String output;
        JinjavaInterpreter.pushCurrent(interpreter);
        try {
            output = interpreter.render(tree, false);
        } catch (InterpretException e) {
            throw new TemplateFailure(e.getMessage());
        } finally {
            JinjavaInterpreter.popCurrent();
        }
        failOnFatal(interpreter.getErrorsCopy());
        return output;
    }

    private static void failOnFatal(List<TemplateError> errors) {
        for (TemplateError error : errors) {
            if (error.getSeverity() == TemplateError.ErrorType.FATAL) {
                throw new TemplateFailure(error.getMessage());
            }
        }
    }

    /** Called by templates that refuse a chat, as {@code raise_exception('...')}. */
    public static String raiseException(String message) {
        throw new TemplateFailure(message);
    }

    private static Jinjava jinja() {
        Jinjava jinja = new Jinjava(JinjavaConfig.newBuilder()
                .withTrimBlocks(true)
                .withLstripBlocks(true)
                // As in jinja2: a name the template was not given renders empty and tests false
                // (templates ask `{% if tools %}` and the like).
                .withFailOnUnknownTokens(false)
                .build());
        jinja.getGlobalContext().registerFunction(new ELFunctionDefinition("", "raise_exception",
                ChatTemplate.class, "raiseException", String.class));
        return jinja;
    }

    /** The template could not render this chat. */
    static final class TemplateFailure extends RuntimeException {
        TemplateFailure(String message) {
            super(message);
        }
    }
}
