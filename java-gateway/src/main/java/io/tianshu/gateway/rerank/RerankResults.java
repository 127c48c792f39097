package io.tianshu.gateway.rerank;

import com.fasterxml.jackson.annotation.JsonInclude;
import com.fasterxml.jackson.databind.PropertyNamingStrategies;
import com.fasterxml.jackson.databind.annotation.JsonNaming;
import io.swagger.v3.oas.annotations.media.Schema;
import io.tianshu.inference.v1.RerankResponse;
import io.tianshu.inference.v1.RerankResult;
import java.util.List;

/**
 * The rerank answer in the shape vLLM and Jina return (Cohere's clients read {@code id} and
 * {@code results} of it): best first, each with the index of its document in the request.
 */
public record RerankResults(String id, String model, Usage usage, List<Result> results) {

    @JsonNaming(PropertyNamingStrategies.SnakeCaseStrategy.class)
    @JsonInclude(JsonInclude.Include.NON_NULL)
    @Schema(name = "RerankResult")
    record Result(int index, float relevanceScore, Document document) {
    }

    @Schema(name = "RerankDocument")
    record Document(String text) {
    }

    @JsonNaming(PropertyNamingStrategies.SnakeCaseStrategy.class)
    @Schema(name = "RerankUsage")
    record Usage(int promptTokens, int totalTokens) {
    }

    static RerankResults of(String requestId, RerankResponse response, List<String> documents, boolean withText) {
        List<Result> results = response.getResultsList().stream()
                .map(r -> new Result(r.getIndex(), r.getRelevanceScore(), withText ? text(documents, r) : null))
                .toList();
        int tokens = response.getUsage().getPromptTokens();
        return new RerankResults("rerank-" + requestId, response.getModel(), new Usage(tokens, tokens), results);
    }

    private static Document text(List<String> documents, RerankResult result) {
        return new Document(documents.get(result.getIndex()));
    }
}
