package io.tianshu.gateway.chat;

import static io.tianshu.gateway.error.ApiException.invalidRequest;

import io.tianshu.inference.v1.Generation;
import io.tianshu.inference.v1.Model;
import io.tianshu.inference.v1.Priority;
import io.tianshu.inference.v1.StructuredOutput;

/**
 * Validates an OpenAI chat request and turns it into a {@link Generation}. This is the
 * gateway's one validation point: whatever passes here is well-formed for the backend,
 * and every refusal names its parameter the way the caller wrote it.
 */
public final class ChatRequestMapper {

    private ChatRequestMapper() {
    }

    public static Generation toGeneration(ChatCompletionRequest request, String requestId) {
        if (request.model() == null || request.model().isBlank()) {
            throw invalidRequest("Missing required parameter: 'model'.", "model");
        }
        if (request.messages() == null) {
            throw invalidRequest("Missing required parameter: 'messages'.", "messages");
        }
        if (request.messages().isEmpty()) {
            throw invalidRequest("'messages' must contain at least one message.", "messages");
        }
        Generation.Builder generation = Generation.newBuilder()
                .setModel(request.model())
                .setRequestId(requestId)
                .setPriority(Priority.PRIORITY_INTERACTIVE)
                .setSampling(SamplingMapper.sampling(request));
        for (int i = 0; i < request.messages().size(); i++) {
            generation.addMessages(MessageMapper.message(request.messages().get(i), "messages[" + i + "]"));
        }
        StructuredOutput structured = structuredOutput(request.responseFormat());
        if (structured != null) {
            generation.setStructuredOutput(structured);
        }
        return generation.build();
    }

    /** Limits that depend on the model, checked once the model is known to exist. */
    public static void checkModelLimits(ChatCompletionRequest request, Model model) {
        if (request.n() != null && model.getMaxChoices() > 0 && request.n() > model.getMaxChoices()) {
            throw invalidRequest("'n' is " + request.n() + "; model '" + model.getId() + "' allows at most "
                    + model.getMaxChoices() + ".", "n");
        }
        if (request.topLogprobs() != null && model.getMaxLogprobs() > 0
                && request.topLogprobs() > model.getMaxLogprobs()) {
            throw invalidRequest("'top_logprobs' is " + request.topLogprobs() + "; model '" + model.getId()
                    + "' allows at most " + model.getMaxLogprobs() + ".", "top_logprobs");
        }
    }

    private static StructuredOutput structuredOutput(ChatCompletionRequest.ResponseFormat format) {
        if (format == null || format.type() == null || format.type().equals("text")) {
            return null;
        }
        return switch (format.type()) {
            case "json_object" -> StructuredOutput.newBuilder().setJsonObject(true).build();
            case "json_schema" -> {
                ChatCompletionRequest.JsonSchema schema = format.jsonSchema();
                if (schema == null || schema.schema() == null || !schema.schema().isObject()) {
                    throw invalidRequest("'response_format.json_schema.schema' must be a JSON Schema object.",
                            "response_format.json_schema.schema");
                }
                yield StructuredOutput.newBuilder().setJsonSchema(schema.schema().toString()).build();
            }
            default -> throw invalidRequest("Invalid value for 'response_format.type': '" + format.type()
                    + "'. Supported values are: text, json_object, json_schema.", "response_format.type");
        };
    }
}
