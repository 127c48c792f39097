package io.tianshu.gateway.chat;

import static io.tianshu.gateway.error.ApiException.invalidRequest;

import io.tianshu.gateway.generation.SamplingChecks;
import io.tianshu.gateway.tools.AutoToolChoice;
import io.tianshu.gateway.tools.ToolDefinitions;
import io.tianshu.gateway.tools.ToolTurns;
import io.tianshu.inference.v1.Generation;
import io.tianshu.inference.v1.Model;
import io.tianshu.inference.v1.Priority;
import io.tianshu.inference.v1.SamplingParams;
import io.tianshu.inference.v1.StructuredOutput;

/**
 * Validates an OpenAI chat request and turns it into a {@link Generation}. This is the
 * gateway's one validation point: whatever passes here is well-formed for the backend,
 * and every refusal names its parameter the way the caller wrote it.
 */
public final class ChatRequestMapper {

    // OpenAI's own bound on top_logprobs.
    private static final int MAX_TOP_LOGPROBS = 20;

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
                .setSampling(sampling(request));
        ToolTurns turns = new ToolTurns();
        for (int i = 0; i < request.messages().size(); i++) {
            generation.addMessages(MessageMapper.message(request.messages().get(i), "messages[" + i + "]", turns));
        }
        StructuredOutput structured = structuredOutput(request.responseFormat());
        ToolDefinitions.Mapped tools = ToolDefinitions.map(request.tools(), request.toolChoice(),
                request.parallelToolCalls());
        if (structured != null) {
            ToolDefinitions.refuseWithStructuredOutput(tools, "response_format", request.responseFormat().type());
            generation.setStructuredOutput(structured);
        }
        tools.applyTo(generation);
        return generation.build();
    }

    /**
     * Limits that depend on the model, checked once the model is known to exist.
     *
     * @param generation the request as {@link #toGeneration} mapped it
     */
    public static void checkModelLimits(ChatCompletionRequest request, Generation generation, Model model) {
        SamplingChecks.modelLimits(request.n(), request.topLogprobs(), "top_logprobs", model);
        AutoToolChoice.check(generation, model);
    }

    private static SamplingParams sampling(ChatCompletionRequest r) {
        SamplingChecks.Common common = new SamplingChecks.Common(r.temperature(), r.topP(), r.stop(), r.seed(),
                r.presencePenalty(), r.frequencyPenalty(), r.n());
        return SamplingChecks.sampling(common, sampling -> {
            SamplingChecks.positive(r.topK(), "top_k");
            if (r.topK() != null) {
                sampling.setTopK(r.topK());
            }
            if (Boolean.TRUE.equals(r.ignoreEos())) {
                sampling.setIgnoreEos(true);
            }
            SamplingChecks.positive(r.maxTokens(), "max_tokens");
            SamplingChecks.positive(r.maxCompletionTokens(), "max_completion_tokens");
            // max_completion_tokens is OpenAI's successor of max_tokens; it wins when both are sent.
            Integer maxTokens = r.maxCompletionTokens() != null ? r.maxCompletionTokens() : r.maxTokens();
            if (maxTokens != null) {
                sampling.setMaxTokens(maxTokens);
            }
        }, sampling -> {
            if (r.topLogprobs() != null) {
                if (!r.wantsLogprobs()) {
                    throw invalidRequest("'top_logprobs' requires 'logprobs' to be true.", "top_logprobs");
                }
                SamplingChecks.between(r.topLogprobs(), 0, MAX_TOP_LOGPROBS, "top_logprobs");
            }
            if (r.wantsLogprobs()) {
                sampling.setLogprobs(r.topLogprobs() != null ? r.topLogprobs() : 0);
            }
        });
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
