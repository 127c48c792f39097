package io.tianshu.gateway.embeddings;

import static io.tianshu.gateway.error.ApiException.invalidRequest;

import com.fasterxml.jackson.databind.JsonNode;
import io.tianshu.inference.v1.EmbedRequest;
import io.tianshu.inference.v1.Model;
import java.util.ArrayList;
import java.util.List;

/** Validates an embeddings request and turns it into an {@link EmbedRequest}. */
public final class EmbeddingsMapper {

    private EmbeddingsMapper() {
    }

    public static EmbedRequest toEmbedRequest(EmbeddingsRequest request, String requestId) {
        if (request.model() == null || request.model().isBlank()) {
            throw invalidRequest("Missing required parameter: 'model'.", "model");
        }
        if (request.encodingFormat() != null && !request.encodingFormat().equals("float") && !request.base64()) {
            throw invalidRequest("Invalid value for 'encoding_format': '" + request.encodingFormat()
                    + "'. Supported values are: float, base64.", "encoding_format");
        }
        return EmbedRequest.newBuilder()
                .setModel(request.model())
                .addAllTexts(texts(request.input()))
                .setRequestId(requestId)
                .build();
    }

    /** Checks that need the embedding model: batch size and vector length. */
    public static void checkModel(EmbeddingsRequest request, EmbedRequest embed, Model model) {
        if (model.getMaxBatchSize() > 0 && embed.getTextsCount() > model.getMaxBatchSize()) {
            throw invalidRequest("'input' has " + embed.getTextsCount() + " items; model '" + model.getId()
                    + "' takes at most " + model.getMaxBatchSize() + " per request.", "input");
        }
        // The served models have one fixed length; truncating (Matryoshka) is not offered.
        if (request.dimensions() != null && request.dimensions() != model.getDimension()) {
            throw invalidRequest("'dimensions' is " + request.dimensions() + "; model '" + model.getId()
                    + "' only produces vectors of " + model.getDimension() + ".", "dimensions");
        }
    }

    private static List<String> texts(JsonNode input) {
        if (input == null || input.isNull()) {
            throw invalidRequest("Missing required parameter: 'input'.", "input");
        }
        if (input.isTextual()) {
            return List.of(nonEmpty(input.asText(), "input"));
        }
        if (!input.isArray()) {
            throw invalidRequest("Invalid type for 'input': expected a string or an array of strings.", "input");
        }
        if (input.isEmpty()) {
            throw invalidRequest("'input' must contain at least one item.", "input");
        }
        List<String> texts = new ArrayList<>(input.size());
        for (int i = 0; i < input.size(); i++) {
            JsonNode item = input.get(i);
            if (item.isIntegralNumber() || item.isArray()) {
                // Token ids only make sense with the model's own tokenizer, which lives in the backend.
                throw invalidRequest("Token arrays are not supported as 'input'; send text.", "input");
            }
            if (!item.isTextual()) {
                throw invalidRequest("Invalid type for 'input[" + i + "]': expected a string.", "input[" + i + "]");
            }
            texts.add(nonEmpty(item.asText(), "input[" + i + "]"));
        }
        return texts;
    }

    private static String nonEmpty(String text, String param) {
        if (text.isEmpty()) {
            throw invalidRequest("'" + param + "' must not be empty.", param);
        }
        return text;
    }
}
