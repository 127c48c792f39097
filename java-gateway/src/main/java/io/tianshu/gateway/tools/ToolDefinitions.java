package io.tianshu.gateway.tools;

import static io.tianshu.gateway.error.ApiException.invalidRequest;

import com.fasterxml.jackson.databind.JsonNode;
import io.tianshu.inference.v1.Generation;
import io.tianshu.inference.v1.Tool;
import io.tianshu.inference.v1.ToolChoice;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.regex.Pattern;

/**
 * A chat request's {@code tools}, {@code tool_choice} and {@code parallel_tool_calls} checked
 * and turned into the Generation's tools, ToolChoice and parallel_tool_calls. Every refusal
 * names the field as the caller wrote it ({@code tools[1].function.name}); what passes is what
 * the inference service accepts, so it never has to refuse a caller's tools itself.
 */
public final class ToolDefinitions {

    /** OpenAI's rule for a function's name. */
    public static final String NAME_PATTERN = "^[a-zA-Z0-9_-]{1,64}$";
    /** OpenAI's bound on the tools of one request, also the contract's. */
    public static final int MAX_TOOLS = 128;

    private static final Pattern NAME = Pattern.compile(NAME_PATTERN);
    private static final String FUNCTION = "function";

    /**
     * The tools of one generation, checked.
     *
     * @param choice null when the caller named none (the model decides, with tools)
     * @param parallel null when the caller did not say (several calls allowed)
     */
    public record Mapped(List<Tool> tools, ToolChoice choice, Boolean parallel) {

        static final Mapped NONE = new Mapped(List.of(), null, null);

        public void applyTo(Generation.Builder generation) {
            generation.addAllTools(tools);
            if (choice != null) {
                generation.setToolChoice(choice);
            }
            if (parallel != null) {
                generation.setParallelToolCalls(parallel);
            }
        }

        /**
         * Whether the answer must be a call: 'required' or a named function, which the engine
         * enforces with structured output, so no other output constraint can apply at once.
         */
        public boolean forcesCall() {
            return choice != null && (choice.hasFunctionName() || choice.getMode() == ToolChoice.Mode.MODE_REQUIRED);
        }
    }

    private ToolDefinitions() {
    }

    /** @param toolChoice as the caller wrote it: a string, an object, or absent (null or JSON null) */
    public static Mapped map(List<FunctionTool> tools, JsonNode toolChoice, Boolean parallelToolCalls) {
        boolean choiceGiven = toolChoice != null && !toolChoice.isNull();
        if (tools == null || tools.isEmpty()) {
            if (choiceGiven) {
                throw invalidRequest("'tool_choice' is only allowed when 'tools' are specified.", "tool_choice");
            }
            // parallel_tool_calls alone means nothing, as at OpenAI.
            return Mapped.NONE;
        }
        if (tools.size() > MAX_TOOLS) {
            throw invalidRequest("'tools' has " + tools.size() + " functions; at most " + MAX_TOOLS
                    + " are allowed.", "tools");
        }
        List<Tool> mapped = new ArrayList<>(tools.size());
        Map<String, Integer> firstAt = new HashMap<>();
        for (int i = 0; i < tools.size(); i++) {
            Tool tool = tool(tools.get(i), "tools[" + i + "]");
            Integer earlier = firstAt.putIfAbsent(tool.getName(), i);
            if (earlier != null) {
                throw invalidRequest("Duplicate function name '" + tool.getName() + "' at 'tools[" + i
                        + "].function.name': each function needs its own name (also at 'tools[" + earlier + "]').",
                        "tools[" + i + "].function.name");
            }
            mapped.add(tool);
        }
        ToolChoice choice = choiceGiven ? choice(toolChoice, firstAt) : null;
        return new Mapped(List.copyOf(mapped), choice, parallelToolCalls);
    }

    /**
     * Refuses a forced call together with another constraint on the answer's form: the two
     * would fight over what the engine may generate.
     *
     * @param format the constraint's field, as the caller wrote it ("response_format")
     */
    public static void refuseWithStructuredOutput(Mapped tools, String format, String formatType) {
        if (tools.forcesCall()) {
            String choice = tools.choice().hasFunctionName()
                    ? "a named function ('" + tools.choice().getFunctionName() + "')" : "'required'";
            throw invalidRequest("'" + format + "' of type '" + formatType + "' cannot be combined with 'tool_choice' "
                    + choice + ": the call's arguments already follow the function's parameters schema. Leave out "
                    + "one of them.", format);
        }
    }

    private static Tool tool(FunctionTool tool, String param) {
        if (tool == null) {
            throw invalidRequest("Invalid type for '" + param + "': expected an object.", param);
        }
        if (tool.type() == null) {
            throw invalidRequest("Missing required parameter: '" + param + ".type'.", param + ".type");
        }
        if (!tool.type().equals(FUNCTION)) {
            throw invalidRequest("Invalid value for '" + param + ".type': '" + tool.type()
                    + "'. Supported values are: 'function'.", param + ".type");
        }
        FunctionTool.Function function = tool.function();
        if (function == null) {
            throw invalidRequest("Missing required parameter: '" + param + ".function'.", param + ".function");
        }
        String nameParam = param + ".function.name";
        if (function.name() == null) {
            throw invalidRequest("Missing required parameter: '" + nameParam + "'.", nameParam);
        }
        if (!NAME.matcher(function.name()).matches()) {
            throw invalidRequest("Invalid '" + nameParam + "': '" + function.name() + "' does not match the pattern '"
                    + NAME_PATTERN + "' (1 to 64 letters, digits, underscores or dashes).", nameParam);
        }
        Tool.Builder mapped = Tool.newBuilder().setName(function.name());
        if (function.description() != null) {
            mapped.setDescription(function.description());
        }
        JsonNode parameters = function.parameters();
        if (parameters != null && !parameters.isNull()) {
            String json = parameters.toString();
            ParametersSchema.check(parameters, json, param + ".function.parameters", function.name());
            mapped.setParametersJson(json);
        }
        return mapped.build();
    }

    private static ToolChoice choice(JsonNode choice, Map<String, Integer> functions) {
        if (choice.isTextual()) {
            ToolChoice.Mode mode = switch (choice.asText()) {
                case "none" -> ToolChoice.Mode.MODE_NONE;
                case "auto" -> ToolChoice.Mode.MODE_AUTO;
                case "required" -> ToolChoice.Mode.MODE_REQUIRED;
                default -> throw invalidRequest("Invalid value for 'tool_choice': '" + choice.asText()
                        + "'. Supported values are: 'none', 'auto', 'required', or {\"type\": \"function\", "
                        + "\"function\": {\"name\": \"...\"}}.", "tool_choice");
            };
            return ToolChoice.newBuilder().setMode(mode).build();
        }
        if (!choice.isObject()) {
            throw invalidRequest("Invalid type for 'tool_choice': expected a string or an object.", "tool_choice");
        }
        JsonNode type = choice.get("type");
        if (type == null || type.isNull()) {
            throw invalidRequest("Missing required parameter: 'tool_choice.type'.", "tool_choice.type");
        }
        if (!type.isTextual() || !type.asText().equals(FUNCTION)) {
            throw invalidRequest("Invalid value for 'tool_choice.type': " + type
                    + ". Supported values are: 'function'.", "tool_choice.type");
        }
        JsonNode function = choice.get(FUNCTION);
        JsonNode name = function == null ? null : function.get("name");
        if (name == null || name.isNull()) {
            throw invalidRequest("Missing required parameter: 'tool_choice.function.name'.",
                    "tool_choice.function.name");
        }
        if (!name.isTextual()) {
            throw invalidRequest("Invalid type for 'tool_choice.function.name': expected a string.",
                    "tool_choice.function.name");
        }
        if (!functions.containsKey(name.asText())) {
            throw invalidRequest("'tool_choice.function.name' is '" + name.asText() + "', which is not the name of "
                    + "a function in 'tools'.", "tool_choice.function.name");
        }
        return ToolChoice.newBuilder().setFunctionName(name.asText()).build();
    }
}
