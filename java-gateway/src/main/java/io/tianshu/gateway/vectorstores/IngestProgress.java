package io.tianshu.gateway.vectorstores;

import io.grpc.Status;
import io.tianshu.gateway.db.Blocking;
import io.tianshu.gateway.rag.RagClient;
import io.tianshu.rag.v1.GetIngestJobRequest;
import io.tianshu.rag.v1.IngestJob;
import java.util.Collection;
import java.util.List;
import java.util.Map;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.springframework.stereotype.Component;
import reactor.core.publisher.Flux;
import reactor.core.publisher.Mono;

/**
 * Where the files of stores stand. A file's status follows the RAG ingest job that stores it;
 * the gateway records the job's end when it next reads the store (nothing polls in the
 * background), one GetIngestJob per job still in progress. A job that cannot be read now (the
 * RAG service is down) leaves its files in_progress, so listing stores keeps working.
 */
@Component
class IngestProgress {

    private static final Logger log = LoggerFactory.getLogger(IngestProgress.class);
    // Jobs read at once for one request: a page of stores each with a running job.
    private static final int CONCURRENT_READS = 4;

    private final VectorStoreRepository repository;
    private final RagClient rag;

    IngestProgress(VectorStoreRepository repository, RagClient rag) {
        this.repository = repository;
        this.rag = rag;
    }

    /** Counts of each store's files, once the jobs that ended are recorded. */
    Mono<Map<String, VectorStoreRepository.Counts>> counts(String tenant, Collection<String> storeIds,
            String requestId) {
        return refresh(tenant, storeIds, requestId).then(Blocking.call(() -> repository.counts(storeIds)));
    }

    Mono<VectorStoreRepository.Counts> counts(String tenant, String storeId, String requestId) {
        return counts(tenant, List.of(storeId), requestId)
                .map(counts -> counts.getOrDefault(storeId, VectorStoreRepository.Counts.NONE));
    }

    /** Records the end of every job that the files of these stores wait for and that has ended. */
    Mono<Void> refresh(String tenant, Collection<String> storeIds, String requestId) {
        return Blocking.call(() -> repository.pendingJobs(storeIds))
                .flatMapMany(Flux::fromIterable)
                .flatMap(jobId -> rag.getJob(GetIngestJobRequest.newBuilder().setTenantId(tenant).setJobId(jobId)
                                .build(), requestId)
                        .flatMap(job -> Blocking.call(() -> record(job)))
                        .onErrorResume(failure -> gone(jobId, failure, requestId)), CONCURRENT_READS)
                .then();
    }

    private boolean record(IngestJob job) {
        switch (job.getState()) {
            case INGEST_JOB_STATE_SUCCEEDED -> repository.finishJob(job.getJobId(), "completed", null, null);
            case INGEST_JOB_STATE_FAILED -> repository.finishJob(job.getJobId(), "failed", "server_error",
                    job.getError().isEmpty() ? "The ingest job failed." : job.getError());
            default -> {
                return false;
            }
        }
        return true;
    }

    /** A job the RAG service no longer knows failed its files; any other failure to read it changes nothing. */
    private Mono<Boolean> gone(String jobId, Throwable failure, String requestId) {
        if (Status.fromThrowable(failure).getCode() == Status.Code.NOT_FOUND) {
            return Blocking.call(() -> {
                repository.finishJob(jobId, "failed", "server_error", "The RAG service no longer knows ingest job "
                        + jobId + "; add the file again.");
                return true;
            });
        }
        log.warn("could not read ingest job {} for request {}; its files stay in_progress: {}", jobId, requestId,
                failure.toString());
        return Mono.empty();
    }
}
