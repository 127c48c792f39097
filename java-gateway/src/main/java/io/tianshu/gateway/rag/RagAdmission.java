package io.tianshu.gateway.rag;

import io.tianshu.gateway.admission.AdmissionStep;
import io.tianshu.gateway.auth.Caller;
import io.tianshu.gateway.config.TianshuProperties;
import io.tianshu.gateway.ratelimit.Admission;
import io.tianshu.gateway.ratelimit.Estimate;
import io.tianshu.gateway.ratelimit.IngestionQuota;
import io.tianshu.inference.v1.Usage;
import io.tianshu.rag.v1.AnswerRequest;
import io.tianshu.rag.v1.AnswerResponse;
import io.tianshu.rag.v1.IngestJob;
import java.util.function.LongFunction;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.springframework.http.HttpHeaders;
import org.springframework.stereotype.Component;
import reactor.core.publisher.Flux;
import reactor.core.publisher.Mono;

/**
 * What search, answers and uploads add to the admission step every route passes
 * ({@link AdmissionStep}): for answers the configured default model and a reservation of the
 * model's context, settled to the usage the answer reports; for uploads the tenant's
 * ingestion quota, and a charge of the upload's embedding tokens once it is accepted.
 */
@Component
public class RagAdmission {

    private static final Logger log = LoggerFactory.getLogger(RagAdmission.class);

    static final String ANSWERS = "rag.answers";
    static final String SEARCH = "rag.search";
    static final String DOCUMENTS = IngestionQuota.ENDPOINT;

    /** An admitted upload: its admission, which bills it, and what its tenant may still ingest. */
    record AdmittedUpload(Admission admission, IngestionQuota.Allowance allowance) {
    }

    private final AdmissionStep step;
    private final IngestionQuota quota;
    private final String defaultModel;

    RagAdmission(AdmissionStep step, IngestionQuota quota, TianshuProperties properties) {
        this.step = step;
        this.quota = quota;
        this.defaultModel = properties.rag().answerModel();
    }

    /**
     * One request and, from the token buckets, the model's whole context length: the RAG
     * service fits the prompt with its sources and max_tokens into the context (dropping
     * sources), so no answer can use more, and the gateway cannot know the prompt before
     * retrieval has run.
     *
     * @param asked the model the caller wrote, or null for the configured default
     * @param request the answer as mapped, without a model
     * @return the answer to send, with the served model in it
     */
    public Mono<AdmissionStep.Admitted<AnswerRequest>> answer(Caller caller, String asked, AnswerRequest request,
            String requestId, HttpHeaders responseHeaders) {
        String named = asked != null ? asked : defaultModel;
        return step.admit(new AdmissionStep.Call(caller, ANSWERS, requestId, responseHeaders), named,
                AdmissionStep.ModelUse.GENERATION, model -> { },
                (served, model) -> Mono.just(new AdmissionStep.Priced<>(request.toBuilder().setModel(served).build(),
                        new Estimate(0, model.getContextLength()))));
    }

    /**
     * One request and no tokens: the query's embedding is a few hundred tokens at most and the
     * RAG service does not report it, so there is nothing exact to reserve or settle.
     */
    public Mono<Void> search(Caller caller, String requestId, HttpHeaders responseHeaders) {
        return step.admit(new AdmissionStep.Call(caller, SEARCH, requestId, responseHeaders)).then();
    }

    /**
     * An upload from start to end: admitted ({@link #upload}), sent, refused over quota in the
     * quota's terms ({@link #refusal}), and charged once accepted ({@link #charge}).
     *
     * @param send sends the upload given the most embedding tokens it may use (0 = no limit);
     *     it may answer no job, when nothing was left to send, and then nothing is charged
     */
    public Mono<IngestJob> ingest(Caller caller, String requestId, HttpHeaders responseHeaders,
            LongFunction<Mono<IngestJob>> send) {
        return upload(caller, requestId, responseHeaders)
                .flatMap(upload -> send.apply(upload.allowance().maxEmbeddingTokens())
                        .onErrorMap(failure -> refusal(upload, failure))
                        .flatMap(job -> charge(upload, job).thenReturn(job)));
    }

    /**
     * An upload: first what is left of the tenant's ingestion quota (429 when nothing is,
     * taking nothing), then, like a search, one request and no tokens: the upload's tokens are
     * counted by the RAG service, and charged once it accepted the upload ({@link #charge}).
     */
    Mono<AdmittedUpload> upload(Caller caller, String requestId, HttpHeaders responseHeaders) {
        return quota.allowance(caller).flatMap(allowance -> step.admit(
                        new AdmissionStep.Call(caller, DOCUMENTS, requestId, responseHeaders))
                .map(admission -> new AdmittedUpload(admission, allowance)));
    }
    /**
     * The RAG service's refusal of an upload over its allowance, in the quota's terms (429
     * {@code ingestion_quota_exceeded}); any other failure as it came.
     */
    Throwable refusal(AdmittedUpload upload, Throwable failure) {
        return upload.allowance().perDay() != null && OverQuota.is(failure)
                ? quota.refused(upload.allowance(), OverQuota.neededTokens(failure)) : failure;
    }

    /**
     * Charges an accepted upload its embedding tokens at once: the ingestion quota, and, as
     * batch lines are charged, the key's and tenant's tokens per minute (even below zero) with
     * one usage row under the collection's embedding model. The job exists whatever happens
     * here, so a failure to charge the quota is logged, not answered.
     */
    Mono<Void> charge(AdmittedUpload upload, IngestJob job) {
        upload.admission().settleUsed(job.getEmbeddingModel(), job.getEmbeddingTokens());
        return quota.charge(upload.allowance(), job.getEmbeddingTokens())
                .onErrorResume(e -> {
                    log.error("charging {} embedding tokens of ingest job {} to the ingestion quota of tenant {} "
                            + "failed", job.getEmbeddingTokens(), job.getJobId(), upload.allowance().tenant(), e);
                    return Mono.empty();
                });
    }

    /**
     * Settles an answer to the usage on its last message. A stream cut before it (the client
     * went away, the service failed) is billed one completion token per text message
     * delivered and no prompt tokens: the prompt's size is known only inside the RAG service,
     * and keeping the whole reservation would bill a dropped connection for a full context.
     */
    public static Flux<AnswerResponse> meter(Admission admission, Flux<AnswerResponse> answer) {
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
