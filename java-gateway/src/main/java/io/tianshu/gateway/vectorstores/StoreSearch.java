package io.tianshu.gateway.vectorstores;

import static io.tianshu.gateway.error.ApiException.invalidRequest;

import com.fasterxml.jackson.databind.JsonNode;
import io.grpc.Status;
import io.tianshu.gateway.auth.Caller;
import io.tianshu.gateway.db.Blocking;
import io.tianshu.gateway.error.FieldViolations;
import io.tianshu.gateway.rag.RagAdmission;
import io.tianshu.gateway.rag.RagClient;
import io.tianshu.gateway.rag.Structs;
import io.tianshu.rag.v1.Hit;
import io.tianshu.rag.v1.MetadataCondition;
import io.tianshu.rag.v1.RetrievalMode;
import io.tianshu.rag.v1.RetrievalOptions;
import io.tianshu.rag.v1.SearchRequest;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.springframework.http.HttpHeaders;
import org.springframework.stereotype.Component;
import reactor.core.publisher.Mono;

/**
 * {@code POST /v1/vector_stores/{id}/search}: one RAG Search of the store's collection, admitted
 * like a /v1/rag search (one request, no tokens), its hits as OpenAI's results. A result's score
 * is the chunk's cosine similarity to the query (clamped to 0..1), which score_threshold cuts
 * at, in SQL, whichever retriever found the chunk; results keep the RAG service's order (hybrid:
 * fused ranks). Chunks of documents that are not files of the store (put into its collection
 * through /v1/rag) are left out.
 */
@Component
class StoreSearch {

    static final int MAX_RESULTS = 50;
    private static final int DEFAULT_RESULTS = 10;

    /** A checked search: what to ask the RAG service, and the queries as the caller gave them. */
    record Checked(List<String> queries, RetrievalOptions options) {
    }

    private final VectorStoreRepository repository;
    private final RagClient rag;
    private final RagAdmission admission;

    StoreSearch(VectorStoreRepository repository, RagClient rag, RagAdmission admission) {
        this.repository = repository;
        this.rag = rag;
        this.admission = admission;
    }

    /** Every check that needs no I/O, so that bad input costs no request. */
    static Checked checked(VectorStoreRequests.Search body) {
        List<String> queries = queries(body.query());
        int results = body.maxNumResults() == null ? DEFAULT_RESULTS : body.maxNumResults();
        if (results < 1 || results > MAX_RESULTS) {
            throw invalidRequest("max_num_results must be between 1 and " + MAX_RESULTS + ".", "max_num_results");
        }
        RetrievalOptions.Builder options = RetrievalOptions.newBuilder().setTopK(results)
                .setMode(RetrievalMode.RETRIEVAL_MODE_HYBRID);
        VectorStoreRequests.RankingOptions ranking = body.rankingOptions();
        if (ranking != null) {
            if (ranking.ranker() != null) {
                options.setMode(switch (ranking.ranker()) {
                    case "none" -> RetrievalMode.RETRIEVAL_MODE_VECTOR;
                    case "auto", "default-2024-11-15" -> RetrievalMode.RETRIEVAL_MODE_HYBRID;
                    default -> throw invalidRequest("ranking_options.ranker must be \"none\", \"auto\" or "
                            + "\"default-2024-11-15\".", "ranking_options.ranker");
                });
            }
            if (ranking.scoreThreshold() != null) {
                double threshold = ranking.scoreThreshold();
                if (!(threshold >= 0 && threshold <= 1)) {
                    throw invalidRequest("ranking_options.score_threshold must be between 0 and 1.",
                            "ranking_options.score_threshold");
                }
                options.setScoreThreshold((float) threshold);
            }
        }
        MetadataCondition condition = SearchFilters.condition(body.filters());
        if (condition != null) {
            options.setMetadataCondition(condition);
        }
        return new Checked(queries, options.build());
    }

    Mono<VectorStoreViews.SearchPage> search(Caller caller, String storeId, Checked search, String requestId,
            HttpHeaders responseHeaders) {
        SearchRequest request = SearchRequest.newBuilder().setTenantId(caller.tenant()).setCollectionId(storeId)
                .setQuery(String.join("\n", search.queries())).setOptions(search.options()).build();
        return Blocking.call(() -> repository.owned(caller.tenant(), storeId))
                .then(Mono.defer(() -> admission.search(caller, requestId, responseHeaders)))
                .then(Mono.defer(() -> rag.search(request, requestId)).onErrorMap(StoreSearch::filterRefusal))
                .flatMap(found -> Blocking.call(() -> {
                    List<Hit> hits = found.getHitsList();
                    Map<String, VectorStoreRepository.FileRow> files = repository.filesById(storeId,
                            hits.stream().map(Hit::getDocumentId).distinct().toList());
                    repository.touch(storeId);
                    List<VectorStoreViews.SearchResult> results = new ArrayList<>(hits.size());
                    for (Hit hit : hits) {
                        VectorStoreRepository.FileRow file = files.get(hit.getDocumentId());
                        if (file != null) {
                            results.add(new VectorStoreViews.SearchResult(file.fileId(), file.filename(), score(hit),
                                    Structs.toMap(hit.getMetadata()),
                                    List.of(new VectorStoreViews.Content("text", hit.getText()))));
                        }
                    }
                    return new VectorStoreViews.SearchPage("vector_store.search_results.page", search.queries(),
                            results, false, null);
                }));
    }

    private static List<String> queries(JsonNode query) {
        List<String> queries = new ArrayList<>();
        if (query != null && query.isTextual()) {
            queries.add(query.asText());
        } else if (query != null && query.isArray()) {
            for (int i = 0; i < query.size(); i++) {
                if (!query.get(i).isTextual()) {
                    throw invalidRequest("'query[" + i + "]' must be a string.", "query");
                }
                queries.add(query.get(i).asText());
            }
        } else {
            throw invalidRequest("'query' is required: a string or a list of strings.", "query");
        }
        if (queries.isEmpty() || queries.stream().allMatch(String::isBlank)) {
            throw invalidRequest("'query' must not be empty.", "query");
        }
        return queries;
    }

    /** The chunk's similarity to the query, 0 to 1 as OpenAI's scores are. */
    private static double score(Hit hit) {
        double similarity = hit.hasSimilarity() ? hit.getSimilarity() : hit.getScore();
        return Math.max(0, Math.min(1, similarity));
    }

    /** The RAG service's refusal of a filter, named as the caller wrote it (filters). */
    private static Throwable filterRefusal(Throwable failure) {
        if (Status.fromThrowable(failure).getCode() != Status.Code.INVALID_ARGUMENT) {
            return failure;
        }
        return FieldViolations.of(failure).stream()
                .filter(violation -> violation.getField().startsWith("options.metadata_condition")).findFirst()
                .<Throwable>map(violation -> invalidRequest("Invalid filters: " + violation.getDescription() + ".",
                        "filters"))
                .orElse(failure);
    }
}
