package io.tianshu.gateway.chat;

import io.tianshu.gateway.auth.Caller;
import io.tianshu.gateway.auth.Callers;
import io.tianshu.gateway.config.DynamicConfig;
import io.tianshu.gateway.error.ApiException;
import io.tianshu.gateway.models.ModelCatalog;
import io.tianshu.gateway.ratelimit.Admission;
import io.tianshu.gateway.ratelimit.Limiter;
import io.tianshu.gateway.ratelimit.PromptCounter;
import io.tianshu.inference.v1.Generation;
import io.tianshu.inference.v1.Model;
import java.util.function.Consumer;
import org.springframework.http.HttpHeaders;
import org.springframework.stereotype.Component;
import reactor.core.publisher.Mono;

/**
 * What chat and legacy completions do before calling a model, in this order: the model name
 * becomes the served id it may be an alias of, the caller's tenant is attached, the model and
 * the caller are checked, the prompt is counted and the call admitted against the limits.
 */
@Component
public class GenerationGate {

    /** The generation as it will be sent, and its admission, which meters it. */
    public record Admitted(Generation generation, Admission admission) {
    }

    private final DynamicConfig dynamic;
    private final ModelCatalog catalog;
    private final PromptCounter counter;
    private final Limiter limiter;

    GenerationGate(DynamicConfig dynamic, ModelCatalog catalog, PromptCounter counter, Limiter limiter) {
        this.dynamic = dynamic;
        this.catalog = catalog;
        this.counter = counter;
        this.limiter = limiter;
    }

    /**
     * @param requested the validated generation, with the model name the caller wrote
     * @param checkModelLimits refuses what the served model cannot do (n, logprobs, ...)
     */
    public Mono<Admitted> admit(Caller caller, Generation requested, boolean streaming, String endpoint,
            Consumer<Model> checkModelLimits, HttpHeaders responseHeaders) {
        if (streaming && !dynamic.current().features().streaming()) {
            return Mono.error(ApiException.featureDisabled("Streaming", "stream"));
        }
        String asked = requested.getModel();
        String served = dynamic.servedModel(asked);
        // The backends log and meter per tenant; only the gateway knows who is calling.
        Generation generation = requested.toBuilder().setModel(served).setTenantId(caller.tenant()).build();
        return catalog.requireGenerationModel(served)
                .doOnNext(checkModelLimits)
                .doOnNext(model -> Callers.checkModel(caller, asked, served))
                .then(Mono.defer(() -> counter.generation(generation)))
                .flatMap(counted -> limiter.admit(caller, endpoint, served, generation.getRequestId(),
                                counted.estimate(), responseHeaders)
                        .map(admission -> new Admitted(counted.tokenized(), admission)));
    }
}
