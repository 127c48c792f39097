package io.tianshu.gateway.tools;

import static io.swagger.v3.oas.annotations.media.Schema.RequiredMode.REQUIRED;

import com.fasterxml.jackson.databind.JsonNode;
import io.swagger.v3.oas.annotations.media.Schema;

/**
 * One entry of a chat request's {@code tools}, as OpenAI writes it:
 * {@code {"type": "function", "function": {"name", "description", "parameters", "strict"}}}.
 * Read as written and checked by {@link ToolDefinitions}, which names the field at fault.
 */
@Schema(name = "ChatCompletionFunctionTool", description = "A function the model may call")
public record FunctionTool(
        @Schema(requiredMode = REQUIRED, allowableValues = "function") String type,
        @Schema(requiredMode = REQUIRED) Function function) {

    @Schema(name = "FunctionDefinition")
    public record Function(
            @Schema(requiredMode = REQUIRED, pattern = ToolDefinitions.NAME_PATTERN,
                    description = "Letters, digits, underscores and dashes; unique among the tools")
            String name,
            @Schema(description = "What the function does, for the model to decide when and how to call it")
            String description,
            @Schema(types = "object", description = "The arguments as a JSON Schema object, valid against the "
                    + "meta-schema of its $schema (draft-04, -06, -07, 2019-09 or 2020-12; 2020-12 when absent) "
                    + "and nested at most " + ParametersSchema.MAX_DEPTH + " JSON levels deep; absent means no "
                    + "arguments")
            JsonNode parameters,
            @Schema(description = "Accepted for compatibility; calls forced by tool_choice 'required' or a named "
                    + "function follow the schema whatever its value")
            Boolean strict) {
    }
}
