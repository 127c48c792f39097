package io.tianshu.gateway.rag;

import static io.tianshu.gateway.error.ApiException.invalidRequest;

import com.fasterxml.jackson.databind.JsonNode;
import com.google.protobuf.ByteString;
import io.tianshu.rag.v1.AnswerRequest;
import io.tianshu.rag.v1.CollectionLanguage;
import io.tianshu.rag.v1.CreateCollectionRequest;
import io.tianshu.rag.v1.Document;
import io.tianshu.rag.v1.FusionMethod;
import io.tianshu.rag.v1.FusionSettings;
import io.tianshu.rag.v1.RerankSettings;
import io.tianshu.rag.v1.RetrievalMode;
import io.tianshu.rag.v1.RetrievalOptions;
import io.tianshu.rag.v1.SearchRequest;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;
import java.util.Map;

/**
 * Turns /v1/rag bodies into RAG requests for the caller's tenant. Checks only what the
 * gateway must understand to build the request (types, modes, base64); limits and names are
 * the RAG service's to check, and its INVALID_ARGUMENT names the field.
 */
final class RagMapper {

    private static final Map<String, RetrievalMode> MODES = Map.of(
            "vector", RetrievalMode.RETRIEVAL_MODE_VECTOR,
            "full_text", RetrievalMode.RETRIEVAL_MODE_FULL_TEXT,
            "hybrid", RetrievalMode.RETRIEVAL_MODE_HYBRID);

    private static final Map<String, FusionMethod> FUSION_METHODS = Map.of(
            "score", FusionMethod.FUSION_METHOD_SCORE,
            "rrf", FusionMethod.FUSION_METHOD_RRF);

    private static final Map<String, CollectionLanguage> LANGUAGES = Map.of(
            "auto", CollectionLanguage.COLLECTION_LANGUAGE_AUTO,
            "zh", CollectionLanguage.COLLECTION_LANGUAGE_ZH,
            "en", CollectionLanguage.COLLECTION_LANGUAGE_EN);

    private RagMapper() {
    }

    static CreateCollectionRequest collection(RagRequests.NewCollection body, String tenant) {
        CreateCollectionRequest.Builder request = CreateCollectionRequest.newBuilder()
                .setTenantId(tenant)
                .setCollectionId(required(body.name(), "name"))
                .setEmbeddingModel(orEmpty(body.embeddingModel()))
                .setDescription(orEmpty(body.description()));
        if (body.settings() != null && body.settings().rerank() != null) {
            RagRequests.Rerank rerank = body.settings().rerank();
            request.getSettingsBuilder().setRerank(rerank(rerank.enabled(), rerank.model(), rerank.candidates(),
                    "settings.rerank"));
        }
        if (body.settings() != null && body.settings().language() != null) {
            CollectionLanguage language = LANGUAGES.get(body.settings().language());
            if (language == null) {
                throw invalidRequest("'settings.language' must be one of: auto, zh, en.", "settings.language");
            }
            request.getSettingsBuilder().setLanguage(language);
        }
        if (body.settings() != null && body.settings().fusion() != null) {
            RagRequests.Fusion fusion = body.settings().fusion();
            FusionSettings.Builder weights = FusionSettings.newBuilder();
            if (fusion.vectorWeight() != null) {
                weights.setVectorWeight(fusion.vectorWeight());
            }
            if (fusion.fullTextWeight() != null) {
                weights.setFullTextWeight(fusion.fullTextWeight());
            }
            if (fusion.method() != null) {
                FusionMethod method = FUSION_METHODS.get(fusion.method());
                if (method == null) {
                    throw invalidRequest("'settings.fusion.method' must be one of: score, rrf.",
                            "settings.fusion.method");
                }
                weights.setMethod(method);
            }
            request.getSettingsBuilder().setFusion(weights);
        }
        return request.build();
    }

    static List<Document> documents(RagRequests.Documents body) {
        if (body.documents() == null || body.documents().isEmpty()) {
            throw invalidRequest("'documents' must contain at least one document.", "documents");
        }
        List<Document> documents = new ArrayList<>(body.documents().size());
        for (int i = 0; i < body.documents().size(); i++) {
            documents.add(document(body.documents().get(i), "documents[" + i + "]"));
        }
        return documents;
    }

    private static Document document(RagRequests.DocumentItem item, String param) {
        if (item == null) {
            throw invalidRequest("'" + param + "' must be an object.", param);
        }
        if ((item.text() == null) == (item.content() == null)) {
            throw invalidRequest("'" + param + "' needs exactly one of 'text' and 'content'.", param + ".text");
        }
        String type = item.contentType() != null ? DocumentFormats.of(item.contentType(), null) : null;
        ByteString content;
        if (item.text() != null) {
            content = ByteString.copyFromUtf8(item.text());
            type = type == null ? DocumentFormats.TEXT : type;
        } else {
            content = base64(item.content(), param + ".content");
            if (type == null) {
                throw invalidRequest("'" + param + ".content_type' is required with 'content'.",
                        param + ".content_type");
            }
        }
        return Document.newBuilder()
                .setDocumentId(required(item.id(), param + ".id"))
                .setContent(content)
                .setContentType(type)
                .setMetadata(Structs.fromJson(item.metadata(), param + ".metadata"))
                .build();
    }

    static SearchRequest search(RagRequests.Search body, String tenant, String collection) {
        return SearchRequest.newBuilder()
                .setTenantId(tenant)
                .setCollectionId(collection)
                .setQuery(required(body.query(), "query"))
                .setOptions(options(body.mode(), body.topK(), body.metadataFilter(), body.minSimilarity(),
                        body.embeddingModel()).setRerank(rerank(body.rerank())))
                .build();
    }

    /** Without the model: it is set once the gateway has checked and admitted it. */
    static AnswerRequest answer(RagRequests.Answer body, String tenant, String collection) {
        return AnswerRequest.newBuilder()
                .setTenantId(tenant)
                .setCollectionId(collection)
                .setQuestion(required(body.question(), "question"))
                .setOptions(options(body.mode(), body.topK(), body.metadataFilter(), body.minSimilarity(), null)
                        .setRerank(rerank(body.rerank())))
                .setMaxTokens(body.maxTokens() == null ? 0 : body.maxTokens())
                .build();
    }

    /** A call's {@code rerank}: absent, true or false, or an object of the collection setting's fields. */
    private static RerankSettings rerank(JsonNode rerank) {
        if (rerank == null || rerank.isNull()) {
            return RerankSettings.getDefaultInstance();
        }
        if (rerank.isBoolean()) {
            return RerankSettings.newBuilder().setEnabled(rerank.booleanValue()).build();
        }
        if (!rerank.isObject()) {
            throw invalidRequest("'rerank' must be true, false or an object with enabled, model and candidates.",
                    "rerank");
        }
        JsonNode enabled = rerank.get("enabled");
        JsonNode model = rerank.get("model");
        JsonNode candidates = rerank.get("candidates");
        if (enabled != null && !enabled.isNull() && !enabled.isBoolean()) {
            throw invalidRequest("'rerank.enabled' must be a boolean.", "rerank.enabled");
        }
        if (model != null && !model.isNull() && !model.isTextual()) {
            throw invalidRequest("'rerank.model' must be a string.", "rerank.model");
        }
        if (candidates != null && !candidates.isNull() && !candidates.canConvertToInt()) {
            throw invalidRequest("'rerank.candidates' must be an integer.", "rerank.candidates");
        }
        return rerank(enabled == null || enabled.isNull() ? null : enabled.booleanValue(),
                model == null || model.isNull() ? null : model.textValue(),
                candidates == null || candidates.isNull() ? null : candidates.intValue(), "rerank");
    }

    private static RerankSettings rerank(Boolean enabled, String model, Integer candidates, String param) {
        RerankSettings.Builder settings = RerankSettings.newBuilder().setModel(orEmpty(model));
        if (enabled != null) {
            settings.setEnabled(enabled);
        }
        if (candidates != null) {
            if (candidates < 1 || candidates > 100) {
                throw invalidRequest("'" + param + ".candidates' must be between 1 and 100.", param + ".candidates");
            }
            settings.setCandidates(candidates);
        }
        return settings.build();
    }

    private static RetrievalOptions.Builder options(String mode, Integer topK, JsonNode filter, Float minSimilarity,
            String embeddingModel) {
        RetrievalOptions.Builder options = RetrievalOptions.newBuilder()
                .setMode(mode(mode))
                .setMetadataFilter(Structs.fromJson(filter, "metadata_filter"))
                .setEmbeddingModel(orEmpty(embeddingModel));
        if (topK != null) {
            if (topK < 1) {
                throw invalidRequest("'top_k' must be at least 1.", "top_k");
            }
            options.setTopK(topK);
        }
        if (minSimilarity != null) {
            options.setMinSimilarity(minSimilarity);
        }
        return options;
    }

    private static RetrievalMode mode(String mode) {
        if (mode == null) {
            return RetrievalMode.RETRIEVAL_MODE_HYBRID;
        }
        RetrievalMode known = MODES.get(mode);
        if (known == null) {
            throw invalidRequest("Invalid value for 'mode': '" + mode + "'. Supported values are: vector, "
                    + "full_text, hybrid.", "mode");
        }
        return known;
    }

    static ByteString base64(String encoded, String param) {
        try {
            // Line breaks are allowed (base64 tools wrap at 76); any other stray character is an error.
            return ByteString.copyFrom(Base64.getDecoder().decode(encoded.replaceAll("\\s", "")
                    .getBytes(StandardCharsets.US_ASCII)));
        } catch (IllegalArgumentException e) {
            throw invalidRequest("'" + param + "' is not valid base64.", param);
        }
    }

    static String required(String value, String param) {
        if (value == null || value.isBlank()) {
            throw invalidRequest("Missing required parameter: '" + param + "'.", param);
        }
        return value;
    }

    private static String orEmpty(String value) {
        return value == null ? "" : value;
    }
}
