package io.tianshu.gateway.models;

import com.fasterxml.jackson.annotation.JsonProperty;
import io.tianshu.inference.v1.Model;
import io.tianshu.inference.v1.ModelKind;
import java.util.List;

/** OpenAI's model list, with Tianshu's kind and context length as extra fields SDKs ignore. */
record ModelList(String object, List<Entry> data) {

    record Entry(
            String id,
            String object,
            long created,
            @JsonProperty("owned_by") String ownedBy,
            String kind,
            @JsonProperty("context_length") int contextLength) {
    }

    static ModelList of(List<Model> models, long created) {
        return new ModelList("list", models.stream().map(m -> entry(m, created)).toList());
    }

    static Entry entry(Model model, long created) {
        return new Entry(model.getId(), "model", created, "tianshu", kindOf(model.getKind()), model.getContextLength());
    }

    private static String kindOf(ModelKind kind) {
        return switch (kind) {
            case MODEL_KIND_GENERATE -> "generate";
            case MODEL_KIND_EMBED -> "embed";
            default -> "unknown";
        };
    }
}
