package io.tianshu.gateway.responses;

import static io.swagger.v3.oas.annotations.media.Schema.RequiredMode.REQUIRED;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.PropertyNamingStrategies;
import com.fasterxml.jackson.databind.annotation.JsonNaming;
import io.swagger.v3.oas.annotations.media.Schema;

/**
 * The body of {@code POST /v1/responses} as OpenAI defines it. Fields OpenAI allows in several
 * shapes (input, tool_choice, text) stay {@link JsonNode} and are checked by
 * {@link ResponseInputs}, which names the field in its error. Unknown fields are ignored, as
 * SDKs send fields this gateway does not use (reasoning, truncation, ...).
 */
@JsonNaming(PropertyNamingStrategies.SnakeCaseStrategy.class)
@Schema(name = "CreateResponseRequest")
public record ResponseRequest(
        @Schema(requiredMode = REQUIRED, minLength = 1, description = "A served model id or an alias",
                example = "smollm2-135m-instruct")
        String model,
        @Schema(requiredMode = REQUIRED, description = "Text, or a list of input items: messages ({role, content}), "
                + "function_call and function_call_output items", oneOf = {String.class, Object[].class})
        JsonNode input,
        @Schema(description = "A system message for this turn; not carried over by previous_response_id")
        String instructions,
        @Schema(minimum = "1") Integer maxOutputTokens,
        @Schema(minimum = "0", maximum = "2") Double temperature,
        @Schema(minimum = "0", exclusiveMinimum = true, maximum = "1") Double topP,
        @Schema(description = "{format: {type: text | json_object | json_schema, name, schema, strict}}",
                types = "object") JsonNode text,
        @Schema(description = "Function tools: {type: \"function\", name, description, parameters, strict}")
        JsonNode tools,
        @Schema(description = "none, auto, required, or {type: \"function\", name}",
                oneOf = {String.class, Object.class}) JsonNode toolChoice,
        Boolean parallelToolCalls,
        @Schema(description = "Keep the response for GET and previous_response_id (default true)") Boolean store,
        @Schema(description = "Continue the conversation of this stored response (the caller's tenant's own)")
        String previousResponseId,
        Boolean stream,
        @Schema(description = "Up to 16 string pairs, returned as given", types = "object") JsonNode metadata,
        String user) {

    boolean streaming() {
        return Boolean.TRUE.equals(stream);
    }

    boolean stored() {
        return !Boolean.FALSE.equals(store);
    }
}
