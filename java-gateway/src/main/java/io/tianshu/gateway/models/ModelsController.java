package io.tianshu.gateway.models;

import java.time.Instant;
import org.springframework.web.bind.annotation.GetMapping;
import org.springframework.web.bind.annotation.PathVariable;
import org.springframework.web.bind.annotation.RestController;
import reactor.core.publisher.Mono;

/** {@code GET /v1/models} and {@code GET /v1/models/{id}}, as the OpenAI SDK's client.models expects. */
@RestController
class ModelsController {

    private final ModelCatalog catalog;
    // ListModels has no creation time; the gateway's start keeps `created` stable across calls.
    private final long created = Instant.now().getEpochSecond();

    ModelsController(ModelCatalog catalog) {
        this.catalog = catalog;
    }

    @GetMapping("/v1/models")
    Mono<ModelList> list() {
        return catalog.models().map(models -> ModelList.of(models, created));
    }

    @GetMapping("/v1/models/{id}")
    Mono<ModelList.Entry> get(@PathVariable String id) {
        return catalog.require(id).map(model -> ModelList.entry(model, created));
    }
}
