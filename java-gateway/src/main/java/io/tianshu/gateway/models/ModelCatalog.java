package io.tianshu.gateway.models;

import io.tianshu.gateway.backend.InferenceClient;
import io.tianshu.gateway.config.TianshuProperties;
import io.tianshu.gateway.error.ApiException;
import io.tianshu.inference.v1.Model;
import io.tianshu.inference.v1.ModelKind;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.atomic.AtomicReference;
import org.springframework.beans.factory.annotation.Autowired;
import org.springframework.stereotype.Component;
import reactor.core.publisher.Mono;

/**
 * What the inference service serves, from ListModels, kept for {@code tianshu.inference.models-refresh}
 * so that checking a request's model costs nothing most of the time. A model missing from
 * the cache triggers one refetch, so a newly deployed model is found without waiting.
 */
@Component
public class ModelCatalog {

    // Bounds refetches caused by misses: a stream of requests for a bogus model must not
    // turn into a stream of ListModels calls.
    private static final Duration MIN_REFETCH_INTERVAL = Duration.ofSeconds(1);

    private final InferenceClient client;
    private final Duration maxAge;
    private final Clock clock;
    private volatile Snapshot snapshot = new Snapshot(List.of(), Instant.MIN);
    private final AtomicReference<Mono<Snapshot>> inflight = new AtomicReference<>();

    @Autowired
    ModelCatalog(InferenceClient client, TianshuProperties properties) {
        this(client, properties.inference().modelsRefresh(), Clock.systemUTC());
    }

    ModelCatalog(InferenceClient client, Duration maxAge, Clock clock) {
        this.client = client;
        this.maxAge = maxAge;
        this.clock = clock;
    }

    /** Every served model, fetched again when the cached list is older than the refresh period. */
    public Mono<List<Model>> models() {
        return current().map(Snapshot::models);
    }

    /** The model, or a 404 {@code model_not_found}. */
    public Mono<Model> require(String id) {
        return current().flatMap(cached -> cached.find(id)
                        .map(Mono::just)
                        .orElseGet(() -> refetchAfterMiss(cached).flatMap(s -> Mono.justOrEmpty(s.find(id)))))
                .switchIfEmpty(Mono.error(() -> ApiException.modelNotFound(id)));
    }

    /** A model that generates text; embedding models are refused with a 400 naming the field. */
    public Mono<Model> requireGenerationModel(String id) {
        return require(id).doOnNext(model -> {
            if (model.getKind() == ModelKind.MODEL_KIND_EMBED) {
                throw ApiException.invalidRequest(
                        "The model '" + id + "' is an embedding model and cannot generate text.", "model");
            }
            if (model.getKind() == ModelKind.MODEL_KIND_RERANK) {
                throw ApiException.invalidRequest(
                        "The model '" + id + "' is a reranking model and cannot generate text.", "model");
            }
        });
    }

    /** A model that embeds text; a generation model is refused with a 400 naming the field. */
    public Mono<Model> requireEmbeddingModel(String id) {
        return require(id).doOnNext(model -> {
            if (model.getKind() != ModelKind.MODEL_KIND_EMBED) {
                throw ApiException.invalidRequest("The model '" + id + "' is not an embedding model.", "model");
            }
        });
    }

    /** A model that scores documents: a cross-encoder, or an embedding model as a bi-encoder. */
    public Mono<Model> requireRerankModel(String id) {
        return require(id).doOnNext(model -> {
            if (model.getKind() != ModelKind.MODEL_KIND_RERANK && model.getKind() != ModelKind.MODEL_KIND_EMBED) {
                throw ApiException.invalidRequest("The model '" + id + "' is neither a reranking nor an embedding "
                        + "model.", "model");
            }
        });
    }

    private Mono<Snapshot> current() {
        Snapshot cached = snapshot;
        return cached.olderThan(maxAge, clock.instant()) ? fetch() : Mono.just(cached);
    }

    private Mono<Snapshot> refetchAfterMiss(Snapshot cached) {
        return cached.olderThan(MIN_REFETCH_INTERVAL, clock.instant()) ? fetch() : Mono.just(cached);
    }

    /** One ListModels call at a time; concurrent callers share its result. */
    private Mono<Snapshot> fetch() {
        return Mono.defer(() -> {
            Mono<Snapshot> running = inflight.get();
            if (running != null) {
                return running;
            }
            Mono<Snapshot> call = client.listModels()
                    .map(response -> new Snapshot(response.getModelsList(), clock.instant()))
                    .doOnNext(fresh -> snapshot = fresh)
                    .doFinally(signal -> inflight.set(null))
                    .cache();
            if (inflight.compareAndSet(null, call)) {
                return call;
            }
            Mono<Snapshot> other = inflight.get();
            return other != null ? other : call;
        });
    }

    record Snapshot(List<Model> models, Instant fetchedAt) {
        Optional<Model> find(String id) {
            return models.stream().filter(m -> m.getId().equals(id)).findFirst();
        }

        boolean olderThan(Duration age, Instant now) {
            return fetchedAt.equals(Instant.MIN) || fetchedAt.plus(age).isBefore(now);
        }
    }
}
