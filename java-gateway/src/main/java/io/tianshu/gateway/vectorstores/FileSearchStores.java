package io.tianshu.gateway.vectorstores;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import io.tianshu.gateway.db.Blocking;
import io.tianshu.rag.v1.RetrievalOptions;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.springframework.stereotype.Component;
import reactor.core.publisher.Mono;

/**
 * What a file_search tool (the Responses API) needs of vector stores: that the store is the
 * caller's, the retrieval its options ask for (checked exactly as a store search checks them),
 * and the names of the files its citations point at.
 */
@Component
public class FileSearchStores {

    private final VectorStoreRepository repository;

    FileSearchStores(VectorStoreRepository repository) {
        this.repository = repository;
    }

    /** @throws io.tianshu.gateway.error.ApiException 404 for a store that is not the tenant's */
    public Mono<Void> owned(String tenant, String storeId) {
        return Blocking.call(() -> repository.owned(tenant, storeId)).then();
    }

    /** File names by file id, for the files of the store among these. */
    public Mono<Map<String, String>> filenames(String storeId, List<String> fileIds) {
        return Blocking.call(() -> {
            Map<String, String> names = new HashMap<>();
            repository.filesById(storeId, fileIds).forEach((id, row) -> names.put(id, row.filename()));
            return names;
        });
    }

    /**
     * The retrieval of a file_search tool's max_num_results, filters and ranking_options, as a
     * store search reads them; a refusal names the field as a store search would.
     */
    public static RetrievalOptions options(Integer maxNumResults, JsonNode filters, Double scoreThreshold,
            String ranker) {
        return StoreSearch.checked(new VectorStoreRequests.Search(JsonNodeFactory.instance.textNode("query"),
                maxNumResults, filters, ranker == null && scoreThreshold == null ? null
                        : new VectorStoreRequests.RankingOptions(ranker, scoreThreshold), null)).options();
    }
}
