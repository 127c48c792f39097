package io.tianshu.gateway.rag;

import io.tianshu.gateway.auth.Caller;
import io.tianshu.gateway.auth.Callers;
import io.tianshu.gateway.config.DynamicConfig;
import io.tianshu.gateway.config.TianshuProperties;
import io.tianshu.gateway.models.ModelCatalog;
import io.tianshu.gateway.ratelimit.Admission;
import io.tianshu.gateway.ratelimit.Estimate;
import io.tianshu.gateway.ratelimit.Limiter;
import io.tianshu.inference.v1.Usage;
import io.tianshu.rag.v1.AnswerResponse;
import org.springframework.http.HttpHeaders;
import org.springframework.stereotype.Component;
import reactor.core.publisher.Flux;
import reactor.core.publisher.Mono;

/**
 * What search and answers go through before the RAG service is called, as chat does before
 * the inference service: the same rate-limit buckets, and for answers the same model checks
 * and a token reservation settled to the usage the answer reports.
 */
@Component
class RagAdmission {

    static final String ANSWERS = "rag.answers";

    /** The served model an answer will use, and its admission, which meters it. */
    record Admitted(String model, Admission admission) {
    }

    private final DynamicConfig dynamic;
    private final ModelCatalog catalog;
    private final Limiter limiter;
    private final String defaultModel;

    RagAdmission(DynamicConfig dynamic, ModelCatalog catalog, Limiter limiter, TianshuProperties properties) {
        this.dynamic = dynamic;
        this.catalog = catalog;
        this.limiter = limiter;
        this.defaultModel = properties.rag().answerModel();
    }

    /**
     * One request and, from the token buckets, the model's whole context length: the RAG
     * service fits the prompt with its sources and max_tokens into the context (dropping
     * sources), so no answer can use more, and the gateway cannot know the prompt before
     * retrieval has run.
     *
     * @param asked the model the caller wrote, or null for the configured default
     */
    Mono<Admitted> answer(Caller caller, String asked, String requestId, HttpHeaders responseHeaders) {
        String named = asked != null ? asked : defaultModel;
        String served = dynamic.servedModel(named);
        return catalog.requireGenerationModel(served)
                .doOnNext(model -> Callers.checkModel(caller, named, served))
                .flatMap(model -> limiter.admit(caller, ANSWERS, served, requestId,
                        new Estimate(0, model.getContextLength()), responseHeaders))
                .map(admission -> new Admitted(served, admission));
    }

    /**
     * One request and no tokens: the query's embedding is a few hundred tokens at most and the
     * RAG service does not report it, so there is nothing exact to reserve or settle. A
     * caller whose token bucket is overdrawn is still refused (a take of zero needs a level of
     * zero). No usage row is written: it would have neither a model nor tokens.
     */
    Mono<Void> search(Caller caller, String requestId, HttpHeaders responseHeaders) {
        return limiter.admit(caller, "rag.search", "", requestId, new Estimate(0, 0), responseHeaders).then();
    }

    /**
     * Settles an answer to the usage on its last message. A stream cut before it (the client
     * went away, the service failed) is billed one completion token per text message
     * delivered and no prompt tokens: the prompt's size is known only inside the RAG service,
     * and keeping the whole reservation would bill a dropped connection for a full context.
     */
    static Flux<AnswerResponse> meter(Admission admission, Flux<AnswerResponse> answer) {
        return admission.meter(answer, RagAdmission::reported, message -> message.getText().isEmpty() ? 0 : 1);
    }

    private static Usage reported(AnswerResponse message) {
        if (!message.hasUsage()) {
            return null;
        }
        int prompt = message.getUsage().getPromptTokens();
        int completion = message.getUsage().getCompletionTokens();
        return Usage.newBuilder().setPromptTokens(prompt).setCompletionTokens(completion)
                .setTotalTokens(prompt + completion).build();
    }
}
