package io.tianshu.gateway.tokens;

import com.hubspot.jinjava.Jinjava;
import com.hubspot.jinjava.JinjavaConfig;
import com.hubspot.jinjava.interpret.Context;
import com.hubspot.jinjava.interpret.InterpretException;
import com.hubspot.jinjava.interpret.JinjavaInterpreter;
import com.hubspot.jinjava.interpret.TemplateError;
import com.hubspot.jinjava.lib.filter.Filter;
import com.hubspot.jinjava.lib.fn.ELFunctionDefinition;
import com.hubspot.jinjava.tree.Node;
import io.tianshu.inference.v1.ChatMessage;
import io.tianshu.inference.v1.Tool;
import io.tianshu.inference.v1.ToolCall;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.regex.Pattern;

/**
 * A model's chat template rendered the way transformers' {@code apply_chat_template} renders
 * it: Jinja with trim_blocks and lstrip_blocks, given {@code messages} (and {@code tools}
 * when there are any) in the shapes the inference service hands them over in,
 * {@code add_generation_prompt=true}, the special tokens by name, a {@code raise_exception}
 * function and transformers' {@code tojson} filter. Jinjava is not Python's jinja2 (no Python string methods, for one), so a template
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
    String render(List<ChatMessage> messages, List<Tool> tools) {
        List<Map<String, Object>> chat = new ArrayList<>(messages.size());
        for (ChatMessage message : messages) {
            chat.add(templateMessage(message));
        }
        Map<String, Object> bindings = new HashMap<>(variables);
        bindings.put("messages", chat);
        bindings.put("add_generation_prompt", true);
        if (!tools.isEmpty()) {
            bindings.put("tools", templateTools(tools));
        }
        // The global context holds the functions and filters; this render's names live in a
        // child context of its own, so renders on several threads share nothing they write.
        Context context = new Context(JINJA.getGlobalContext(), bindings, JINJA.getGlobalConfig().getDisabled());
        JinjavaInterpreter interpreter = new JinjavaInterpreter(JINJA, context, JINJA.getGlobalConfig());
        String output;
        JinjavaInterpreter.pushCurrent(interpreter);
        try {
            output = interpreter.render(tree, false);
        } catch (InterpretException | PythonJson.Unrepresentable e) {
            throw new TemplateFailure(e.getMessage());
        } finally {
            JinjavaInterpreter.popCurrent();
        }
        failOnFatal(interpreter.getErrorsCopy());
        return output;
    }

    /** As the inference service's {@code _template_message}: optional keys only when set. */
    private static Map<String, Object> templateMessage(ChatMessage message) {
        Map<String, Object> rendered = new LinkedHashMap<>();
        rendered.put("role", message.getRole());
        rendered.put("content", message.getContent());
        if (message.getToolCallsCount() > 0) {
            List<Map<String, Object>> calls = new ArrayList<>(message.getToolCallsCount());
            for (ToolCall call : message.getToolCallsList()) {
                Map<String, Object> function = new LinkedHashMap<>();
                function.put("name", call.getName());
                function.put("arguments", arguments(call.getArguments()));
                Map<String, Object> entry = new LinkedHashMap<>();
                entry.put("id", call.getId());
                entry.put("type", "function");
                entry.put("function", function);
                calls.add(entry);
            }
            rendered.put("tool_calls", calls);
        }
        if (!message.getToolCallId().isEmpty()) {
            rendered.put("tool_call_id", message.getToolCallId());
        }
        if (!message.getName().isEmpty()) {
            rendered.put("name", message.getName());
        }
        return rendered;
    }

    /** A call's arguments as a mapping where they parse (transformers' convention), else the text. */
    private static Object arguments(String text) {
        try {
            return PythonJson.loads(text);
        } catch (PythonJson.NotJson e) {
            return text;
        } catch (PythonJson.Unrepresentable e) {
            throw new TemplateFailure(e.getMessage());
        }
    }

    /** As the inference service's {@code openai_tools}: OpenAI's shape, parameters only when given. */
    private static List<Map<String, Object>> templateTools(List<Tool> tools) {
        List<Map<String, Object>> rendered = new ArrayList<>(tools.size());
        for (Tool tool : tools) {
            Map<String, Object> function = new LinkedHashMap<>();
            function.put("name", tool.getName());
            function.put("description", tool.getDescription());
            if (!tool.getParametersJson().isEmpty()) {
                try {
                    function.put("parameters", PythonJson.loads(tool.getParametersJson()));
                } catch (PythonJson.NotJson | PythonJson.Unrepresentable e) {
                    throw new TemplateFailure("tool " + tool.getName() + "'s parameters: " + e.getMessage());
                }
            }
            Map<String, Object> entry = new LinkedHashMap<>();
            entry.put("type", "function");
            entry.put("function", function);
            rendered.add(entry);
        }
        return rendered;
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
        // Jinjava's own tojson writes compact JSON; transformers' writes Python's json.dumps.
        jinja.getGlobalContext().registerFilter(new PythonTojson());
        return jinja;
    }

    /** transformers' {@code tojson}, without arguments: an indent or sort_keys is not reproduced. */
    private static final class PythonTojson implements Filter {
        @Override
        public String getName() {
            return "tojson";
        }

        @Override
        public Object filter(Object value, JinjavaInterpreter interpreter, Object[] args, Map<String, Object> kwargs) {
            if (args.length > 0 || !kwargs.isEmpty()) {
                throw new PythonJson.Unrepresentable("tojson with arguments");
            }
            return PythonJson.dumps(value);
        }

        @Override
        public Object filter(Object value, JinjavaInterpreter interpreter, String... args) {
            return filter(value, interpreter, args, Map.of());
        }
    }

    /** The template could not render this chat. */
    static final class TemplateFailure extends RuntimeException {
        TemplateFailure(String message) {
            super(message);
        }
    }
}
