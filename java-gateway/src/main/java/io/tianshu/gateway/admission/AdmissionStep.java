package io.tianshu.gateway.admission;

import io.tianshu.gateway.auth.Caller;
import io.tianshu.gateway.auth.Callers;
import io.tianshu.gateway.config.DynamicConfig;
import io.tianshu.gateway.models.ModelCatalog;
import io.tianshu.gateway.ratelimit.Admission;
import io.tianshu.gateway.ratelimit.Estimate;
import io.tianshu.gateway.ratelimit.Limiter;
import io.tianshu.inference.v1.Model;
import java.util.function.BiFunction;
import java.util.function.Consumer;
import org.springframework.http.HttpHeaders;
import org.springframework.stereotype.Component;
import reactor.core.publisher.Mono;

/**
 * The one step every route passes before it calls a backend (chat, completions, embeddings,
 * RAG search, answers and uploads), in this order: the model name becomes the served id it
 * may be an alias of; the catalog checks that the model is served and of the route's kind,
 * the route checks what the model cannot do (n, logprobs, batch size, ...); the caller's key
 * and tenant must allow the model; the call is priced (its prompt counted) and admitted
 * against the rate limits. The {@link Admission} it hands back meters the call: it settles the
 * reservation to the usage the backend reports.
 */
@Component
public class AdmissionStep {

    /** Which kind of model a route serves. */
    public enum ModelUse { GENERATION, EMBEDDING, RERANK }

    /**
     * One request of a route.
     *
     * @param endpoint the route as usage rows and limits name it ("chat.completions", "rag.search", ...)
     * @param responseHeaders where the rate-limit headers go
     */
    public record Call(Caller caller, String endpoint, String requestId, HttpHeaders responseHeaders) {
    }

    /** What will be sent, once the served model is known, and what it may cost. */
    public record Priced<R>(R request, Estimate estimate) {
    }

    /** An admitted call: what to send, the served model, and the admission that meters it. */
    public record Admitted<R>(R request, String model, Admission admission) {
    }

    private final DynamicConfig dynamic;
    private final ModelCatalog catalog;
    private final Limiter limiter;

    AdmissionStep(DynamicConfig dynamic, ModelCatalog catalog, Limiter limiter) {
        this.dynamic = dynamic;
        this.catalog = catalog;
        this.limiter = limiter;
    }

    /**
     * A call that names a model.
     *
     * @param asked the model the caller wrote (or the route's default)
     * @param modelLimits refuses, with a 400 naming the field, what the served model cannot do
     * @param price the request to send with the served model in it, and its estimate: called
     *     with the served id and the model once every check passed
     */
    public <R> Mono<Admitted<R>> admit(Call call, String asked, ModelUse use, Consumer<Model> modelLimits,
            BiFunction<String, Model, Mono<Priced<R>>> price) {
        String served = dynamic.servedModel(asked);
        return ofKind(served, use)
                .doOnNext(modelLimits)
                .doOnNext(model -> Callers.checkModel(call.caller(), asked, served))
                .flatMap(model -> price.apply(served, model))
                .flatMap(priced -> limiter.admit(call.caller(), call.endpoint(), served, call.requestId(),
                                priced.estimate(), call.responseHeaders())
                        .map(admission -> new Admitted<>(priced.request(), served, admission)));
    }

    /**
     * A call that names no model (a search, an upload): one request and no tokens. A caller
     * whose token bucket is overdrawn is still refused (a take of zero needs a level of zero).
     * No usage row is written: it would have neither a model nor tokens.
     */
    public Mono<Admission> admit(Call call) {
        return limiter.admit(call.caller(), call.endpoint(), "", call.requestId(), new Estimate(0, 0),
                call.responseHeaders());
    }

    /**
     * The model checks of {@link #admit(Call, String, ModelUse, Consumer, BiFunction)} alone,
     * for a caller naming a model it does not call at once: served (404 model_not_found), of
     * the kind (400), and allowed to the caller (403 model_not_allowed).
     */
    public Mono<Model> permitted(Caller caller, String asked, ModelUse use) {
        return permitted(caller, asked, dynamic.servedModel(asked), use);
    }

    /**
     * The same, for a model name already resolved to {@code served} (a batch resolves each
     * model once, so that all its lines see the same aliases).
     */
    public Mono<Model> permitted(Caller caller, String asked, String served, ModelUse use) {
        return ofKind(served, use).doOnNext(model -> Callers.checkModel(caller, asked, served));
    }

    private Mono<Model> ofKind(String served, ModelUse use) {
        return switch (use) {
            case GENERATION -> catalog.requireGenerationModel(served);
            case EMBEDDING -> catalog.requireEmbeddingModel(served);
            case RERANK -> catalog.requireRerankModel(served);
        };
    }
}
