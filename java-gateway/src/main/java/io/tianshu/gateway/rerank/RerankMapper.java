package io.tianshu.gateway.rerank;

import static io.tianshu.gateway.error.ApiException.invalidRequest;

import com.fasterxml.jackson.databind.JsonNode;
import io.tianshu.inference.v1.Model;
import io.tianshu.inference.v1.RerankRequest.Builder;
import java.util.ArrayList;
import java.util.List;

/** Validates a rerank request and turns it into the inference service's RerankRequest. */
final class RerankMapper {

    private RerankMapper() {
    }

    static Builder toRerankRequest(RerankRequest request, String requestId) {
        if (request.model() == null || request.model().isBlank()) {
            throw invalidRequest("Missing required parameter: 'model'.", "model");
        }
        if (request.query() == null || request.query().isEmpty()) {
            throw invalidRequest("Missing required parameter: 'query'.", "query");
        }
        if (request.topN() != null && request.topN() < 1) {
            throw invalidRequest("'top_n' must be at least 1; leave it out for every document.", "top_n");
        }
        return io.tianshu.inference.v1.RerankRequest.newBuilder()
                .setModel(request.model())
                .setQuery(request.query())
                .addAllDocuments(documents(request.documents()))
                .setTopN(request.topN() == null ? 0 : request.topN())
                .setRequestId(requestId);
    }

    /** Checks that need the model: how many documents it scores at once. */
    static void checkModel(Builder rerank, Model model) {
        if (model.getMaxBatchSize() > 0 && rerank.getDocumentsCount() > model.getMaxBatchSize()) {
            throw invalidRequest("'documents' has " + rerank.getDocumentsCount() + " items; model '" + model.getId()
                    + "' scores at most " + model.getMaxBatchSize() + " per request.", "documents");
        }
    }

    private static List<String> documents(JsonNode documents) {
        if (documents == null || documents.isNull()) {
            throw invalidRequest("Missing required parameter: 'documents'.", "documents");
        }
        if (!documents.isArray()) {
            throw invalidRequest("Invalid type for 'documents': expected an array of strings.", "documents");
        }
        if (documents.isEmpty()) {
            throw invalidRequest("'documents' must contain at least one item.", "documents");
        }
        List<String> texts = new ArrayList<>(documents.size());
        for (int i = 0; i < documents.size(); i++) {
            String param = "documents[" + i + "]";
            JsonNode item = documents.get(i);
            JsonNode text = item.isObject() ? item.get("text") : item;
            if (text == null || !text.isTextual()) {
                throw invalidRequest("Invalid type for '" + param + "': expected a string or an object with a "
                        + "string 'text'.", param);
            }
            if (text.asText().isEmpty()) {
                throw invalidRequest("'" + param + "' must not be empty.", param);
            }
            texts.add(text.asText());
        }
        return texts;
    }
}
