package io.tianshu.gateway.models;

import com.fasterxml.jackson.annotation.JsonProperty;
import io.swagger.v3.oas.annotations.media.Schema;
import io.tianshu.inference.v1.Model;
import io.tianshu.inference.v1.ModelKind;
import java.util.List;

/**
 * OpenAI's model list, with Tianshu's kind, context length and tool-calling capability as
 * extra fields SDKs ignore.
 */
record ModelList(String object, List<Entry> data) {

    record Entry(
            String id,
            String object,
            long created,
            @JsonProperty("owned_by") String ownedBy,
            String kind,
            @JsonProperty("context_length") int contextLength,
            @JsonProperty("tool_parser") @Schema(description = "Generation models: the parser that finds tool calls "
                    + "in what the model writes (e.g. hermes); null when the model cannot choose tools itself")
            String toolParser,
            @JsonProperty("supports_auto_tool_choice") @Schema(description = "Whether chat completions may leave "
                    + "the choice of tools to the model (tool_choice 'auto', the default with tools); 'none', "
                    + "'required' and a named function work with every generation model")
            boolean supportsAutoToolChoice) {
    }

    static ModelList of(List<Model> models, long created) {
        return new ModelList("list", models.stream().map(m -> entry(m, created)).toList());
    }

    static Entry entry(Model model, long created) {
        String toolParser = model.getToolParser().isEmpty() ? null : model.getToolParser();
        return new Entry(model.getId(), "model", created, "tianshu", kindOf(model.getKind()), model.getContextLength(),
                toolParser, toolParser != null);
    }

    private static String kindOf(ModelKind kind) {
        return switch (kind) {
            case MODEL_KIND_GENERATE -> "generate";
            case MODEL_KIND_EMBED -> "embed";
            case MODEL_KIND_RERANK -> "rerank";
            default -> "unknown";
        };
    }
}
