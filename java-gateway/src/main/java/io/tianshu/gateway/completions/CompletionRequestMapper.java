package io.tianshu.gateway.completions;

import static io.tianshu.gateway.error.ApiException.invalidRequest;

import com.fasterxml.jackson.databind.JsonNode;
import io.tianshu.gateway.generation.SamplingChecks;
import io.tianshu.inference.v1.Generation;
import io.tianshu.inference.v1.Model;
import io.tianshu.inference.v1.Priority;
import io.tianshu.inference.v1.SamplingParams;

/** Validates a legacy completion request and turns it into a {@link Generation} with a raw prompt. */
final class CompletionRequestMapper {

    // OpenAI's default for this endpoint (unlike chat, where it is "the rest of the context");
    // vLLM's OpenAI server uses the same, so callers moving between the two see no difference.
    static final int DEFAULT_MAX_TOKENS = 16;
    // OpenAI's bound on the legacy integer logprobs.
    private static final int MAX_LOGPROBS = 5;

    private CompletionRequestMapper() {
    }

    static Generation toGeneration(CompletionRequest r, String requestId) {
        if (r.model() == null || r.model().isBlank()) {
            throw invalidRequest("Missing required parameter: 'model'.", "model");
        }
        if (Boolean.TRUE.equals(r.echo())) {
            throw invalidRequest("'echo' is not supported.", "echo");
        }
        if (r.suffix() != null) {
            throw invalidRequest("'suffix' is not supported.", "suffix");
        }
        if (r.bestOf() != null && r.bestOf() != 1 && !r.bestOf().equals(r.n())) {
            throw invalidRequest("'best_of' is not supported.", "best_of");
        }
        return Generation.newBuilder()
                .setModel(r.model())
                .setPrompt(prompt(r.prompt()))
                .setRequestId(requestId)
                .setPriority(Priority.PRIORITY_INTERACTIVE)
                .setSampling(sampling(r))
                .build();
    }

    static void checkModelLimits(CompletionRequest r, Model model) {
        SamplingChecks.modelLimits(r.n(), r.logprobs(), "logprobs", model);
    }

    /** A string, or an array holding exactly one string (what SDKs send for a list prompt). */
    private static String prompt(JsonNode prompt) {
        if (prompt == null || prompt.isNull()) {
            throw invalidRequest("Missing required parameter: 'prompt'.", "prompt");
        }
        if (prompt.isTextual()) {
            return prompt.asText();
        }
        if (prompt.isArray() && prompt.size() == 1 && prompt.get(0).isTextual()) {
            return prompt.get(0).asText();
        }
        if (prompt.isArray() && prompt.size() > 0 && (prompt.get(0).isIntegralNumber() || prompt.get(0).isArray())) {
            throw invalidRequest("Token arrays are not supported as 'prompt'; send text.", "prompt");
        }
        throw invalidRequest("Invalid type for 'prompt': expected a string (batches of prompts are not supported).",
                "prompt");
    }

    private static SamplingParams sampling(CompletionRequest r) {
        SamplingChecks.Common common = new SamplingChecks.Common(r.temperature(), r.topP(), r.stop(), r.seed(),
                r.presencePenalty(), r.frequencyPenalty(), r.n());
        return SamplingChecks.sampling(common, sampling -> {
            SamplingChecks.positive(r.maxTokens(), "max_tokens");
            sampling.setMaxTokens(r.maxTokens() != null ? r.maxTokens() : DEFAULT_MAX_TOKENS);
        }, sampling -> {
            if (r.logprobs() != null) {
                SamplingChecks.between(r.logprobs(), 0, MAX_LOGPROBS, "logprobs");
                sampling.setLogprobs(r.logprobs());
            }
        });
    }
}
