package io.tianshu.gateway.rag;

import io.grpc.ManagedChannel;
import io.tianshu.gateway.backend.Backend;
import io.tianshu.gateway.backend.BackendCalls;
import io.tianshu.gateway.config.TianshuProperties;
import io.tianshu.rag.v1.AnswerRequest;
import io.tianshu.rag.v1.AnswerResponse;
import io.tianshu.rag.v1.Collection;
import io.tianshu.rag.v1.CreateCollectionRequest;
import io.tianshu.rag.v1.CreateCollectionResponse;
import io.tianshu.rag.v1.DeleteCollectionRequest;
import io.tianshu.rag.v1.DeleteCollectionResponse;
import io.tianshu.rag.v1.DeleteDocumentRequest;
import io.tianshu.rag.v1.DeleteDocumentResponse;
import io.tianshu.rag.v1.GetDocumentRequest;
import io.tianshu.rag.v1.GetDocumentResponse;
import io.tianshu.rag.v1.GetIngestJobRequest;
import io.tianshu.rag.v1.GetIngestJobResponse;
import io.tianshu.rag.v1.IngestDocumentsRequest;
import io.tianshu.rag.v1.IngestDocumentsResponse;
import io.tianshu.rag.v1.IngestJob;
import io.tianshu.rag.v1.ListCollectionsRequest;
import io.tianshu.rag.v1.ListCollectionsResponse;
import io.tianshu.rag.v1.RagServiceGrpc;
import io.tianshu.rag.v1.RagServiceGrpc.RagServiceStub;
import io.tianshu.rag.v1.SearchRequest;
import io.tianshu.rag.v1.SearchResponse;
import io.tianshu.rag.v1.WatchIngestJobRequest;
import io.tianshu.rag.v1.WatchIngestJobResponse;
import java.util.List;
import org.springframework.stereotype.Component;
import reactor.core.publisher.Flux;
import reactor.core.publisher.Mono;

/**
 * The gateway's only door to the RAG service. Every call goes through {@link BackendCalls}:
 * its deadline, the request id and the trace context, and the breaker named {@code rag}. The
 * tenant is always the caller's, set by the controllers from the authenticated key.
 */
@Component
public class RagClient {

    private final Backend<RagServiceStub> rag;
    private final Backend<RagServiceStub> uploads; // the same service and breaker, on its own connection
    private final TianshuProperties.Rag settings;

    RagClient(ManagedChannel ragChannel, RagUploadChannel uploadChannel, TianshuProperties properties,
            BackendCalls calls) {
        this.settings = properties.rag();
        this.rag = calls.backend("RAG", RagServiceGrpc.newStub(ragChannel), settings.breaker());
        this.uploads = calls.backend("RAG", RagServiceGrpc.newStub(uploadChannel.channel()), settings.breaker());
    }

    public Mono<Collection> createCollection(CreateCollectionRequest request, String requestId) {
        return rag.<CreateCollectionResponse>unary(requestId, settings.deadline(),
                (s, o) -> s.createCollection(request, o)).map(CreateCollectionResponse::getCollection);
    }

    Mono<List<Collection>> listCollections(String tenant, String requestId) {
        ListCollectionsRequest request = ListCollectionsRequest.newBuilder().setTenantId(tenant).build();
        return rag.<ListCollectionsResponse>unary(requestId, settings.deadline(),
                (s, o) -> s.listCollections(request, o)).map(ListCollectionsResponse::getCollectionsList);
    }

    public Mono<Void> deleteCollection(DeleteCollectionRequest request, String requestId) {
        return rag.<DeleteCollectionResponse>unary(requestId, settings.deadline(), (s, o) -> s.deleteCollection(request, o))
                .then();
    }

    public Mono<IngestJob> ingest(IngestDocumentsRequest request, String requestId) {
        return uploads.<IngestDocumentsResponse>unary(requestId, settings.ingestDeadline(),
                (s, o) -> s.ingestDocuments(request, o)).map(IngestDocumentsResponse::getJob);
    }

    public Mono<IngestJob> getJob(GetIngestJobRequest request, String requestId) {
        return rag.<GetIngestJobResponse>unary(requestId, settings.deadline(),
                (s, o) -> s.getIngestJob(request, o)).map(GetIngestJobResponse::getJob);
    }

    Flux<IngestJob> watchJob(WatchIngestJobRequest request, String requestId) {
        return rag.<WatchIngestJobResponse>serverStream(requestId, settings.streamDeadline(),
                (s, o) -> s.watchIngestJob(request, o)).map(WatchIngestJobResponse::getJob);
    }

    public Mono<Void> deleteDocument(DeleteDocumentRequest request, String requestId) {
        return rag.<DeleteDocumentResponse>unary(requestId, settings.deadline(), (s, o) -> s.deleteDocument(request, o))
                .then();
    }

    public Mono<GetDocumentResponse> getDocument(GetDocumentRequest request, String requestId) {
        return rag.unary(requestId, settings.deadline(), (s, o) -> s.getDocument(request, o));
    }

    public Mono<SearchResponse> search(SearchRequest request, String requestId) {
        return rag.unary(requestId, settings.deadline(), (s, o) -> s.search(request, o));
    }

    public Flux<AnswerResponse> answer(AnswerRequest request, String requestId) {
        return rag.serverStream(requestId, settings.streamDeadline(), (s, o) -> s.answer(request, o));
    }
}
