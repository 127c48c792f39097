package io.tianshu.gateway.models;

import io.swagger.v3.oas.annotations.Operation;
import io.swagger.v3.oas.annotations.Parameter;
import io.swagger.v3.oas.annotations.tags.Tag;
import java.time.Instant;
import org.springframework.web.bind.annotation.GetMapping;
import org.springframework.web.bind.annotation.PathVariable;
import org.springframework.web.bind.annotation.RestController;
import reactor.core.publisher.Mono;

/** {@code GET /v1/models} and {@code GET /v1/models/{id}}, as the OpenAI SDK's client.models expects. */
@RestController
@Tag(name = "Inference")
class ModelsController {

    private final ModelCatalog catalog;
    // ListModels has no creation time; the gateway's start keeps `created` stable across calls.
    private final long created = Instant.now().getEpochSecond();

    ModelsController(ModelCatalog catalog) {
        this.catalog = catalog;
    }

    @GetMapping("/v1/models")
    @Operation(summary = "The served models, in OpenAI's shape plus kind, context_length, tool_parser and "
            + "supports_auto_tool_choice")
    Mono<ModelList> list() {
        return catalog.models().map(models -> ModelList.of(models, created));
    }

    @GetMapping("/v1/models/{id}")
    @Operation(summary = "One served model")
    Mono<ModelList.Entry> get(@Parameter(example = "smollm2-135m-instruct") @PathVariable String id) {
        return catalog.require(id).map(model -> ModelList.entry(model, created));
    }
}
