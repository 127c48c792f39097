package io.tianshu.gateway.chat;

import io.tianshu.gateway.auth.Caller;
import io.tianshu.gateway.auth.Callers;
import io.tianshu.gateway.config.DynamicConfig;
import io.tianshu.gateway.error.ApiException;
import io.tianshu.gateway.models.ModelCatalog;
import io.tianshu.gateway.ratelimit.Admission;
import io.tianshu.gateway.ratelimit.Limiter;
import io.tianshu.gateway.ratelimit.PromptCounter;
import io.tianshu.gateway.tokens.LocalTokenizers;
import io.tianshu.inference.v1.GenerateResponse;
import io.tianshu.inference.v1.GenerateStreamResponse;
import io.tianshu.inference.v1.Generation;
import io.tianshu.inference.v1.Model;
import java.util.function.Consumer;
import java.util.function.IntConsumer;
import org.springframework.http.HttpHeaders;
import org.springframework.stereotype.Component;
import reactor.core.publisher.Flux;
import reactor.core.publisher.Mono;

/**
 * What chat and legacy completions do before calling a model, in this order: the model name
 * becomes the served id it may be an alias of, the caller's tenant is attached, the model and
 * the caller are checked, the prompt is counted and the call admitted against the limits.
 */
@Component
public class GenerationGate {

    /**
     * The generation as it will be sent, and its admission, which meters it (and, when the
     * gateway counted the prompt, checks that count against the call's reported usage).
     */
    public record Admitted(Generation generation, Admission admission, IntConsumer reportedPromptTokens) {

        public Mono<GenerateResponse> meter(Mono<GenerateResponse> call) {
            return admission.meter(call.doOnNext(r -> reportedPromptTokens.accept(r.getUsage().getPromptTokens())),
                    GenerateResponse::getUsage);
        }

        public Flux<GenerateStreamResponse> meter(Flux<GenerateStreamResponse> stream) {
            return admission.meter(stream.doOnNext(message -> {
                if (message.hasUsage()) {
                    reportedPromptTokens.accept(message.getUsage().getPromptTokens());
                }
            }));
        }
    }

    private final DynamicConfig dynamic;
    private final ModelCatalog catalog;
    private final PromptCounter counter;
    private final Limiter limiter;
    private final LocalTokenizers localTokenizers;

    GenerationGate(DynamicConfig dynamic, ModelCatalog catalog, PromptCounter counter, Limiter limiter,
            LocalTokenizers localTokenizers) {
        this.dynamic = dynamic;
        this.catalog = catalog;
        this.counter = counter;
        this.limiter = limiter;
        this.localTokenizers = localTokenizers;
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
                .flatMap(model -> counter.generation(generation, model))
                .flatMap(counted -> limiter.admit(caller, endpoint, served, generation.getRequestId(),
                                counted.estimate(), responseHeaders)
                        .map(admission -> new Admitted(counted.generation(), admission, counted.countedHere()
                                ? reported -> localTokenizers.check(served, counted.estimate().promptTokens(), reported)
                                : reported -> { })));
    }
}
