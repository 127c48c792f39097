package io.tianshu.gateway.rag;

import io.grpc.ManagedChannel;
import io.grpc.stub.StreamObserver;
import io.tianshu.gateway.backend.CallStubs;
import io.tianshu.gateway.backend.GrpcReactive;
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
import java.time.Duration;
import java.util.List;
import java.util.function.BiConsumer;
import org.springframework.stereotype.Component;
import reactor.core.publisher.Flux;
import reactor.core.publisher.Mono;

/**
 * The gateway's only door to the RAG service. Every call gets its deadline and the request
 * id as metadata; the tenant is always the caller's, set by the controllers from the
 * authenticated key. The stub is built per call so the deadline counts from when it starts.
 */
@Component
class RagClient {

    private final RagServiceStub stub;
    private final TianshuProperties.Rag settings;

    RagClient(ManagedChannel ragChannel, TianshuProperties properties) {
        this.stub = RagServiceGrpc.newStub(ragChannel);
        this.settings = properties.rag();
    }

    Mono<Collection> createCollection(CreateCollectionRequest request, String requestId) {
        return this.<CreateCollectionResponse>unary(requestId, settings.deadline(),
                (s, o) -> s.createCollection(request, o)).map(CreateCollectionResponse::getCollection);
    }

    Mono<List<Collection>> listCollections(String tenant, String requestId) {
        ListCollectionsRequest request = ListCollectionsRequest.newBuilder().setTenantId(tenant).build();
        return this.<ListCollectionsResponse>unary(requestId, settings.deadline(),
                (s, o) -> s.listCollections(request, o)).map(ListCollectionsResponse::getCollectionsList);
    }

    Mono<Void> deleteCollection(DeleteCollectionRequest request, String requestId) {
        return this.<DeleteCollectionResponse>unary(requestId, settings.deadline(), (s, o) -> s.deleteCollection(request, o))
                .then();
    }

    Mono<IngestJob> ingest(IngestDocumentsRequest request, String requestId) {
        return this.<IngestDocumentsResponse>unary(requestId, settings.ingestDeadline(),
                (s, o) -> s.ingestDocuments(request, o)).map(IngestDocumentsResponse::getJob);
    }

    Mono<IngestJob> getJob(GetIngestJobRequest request, String requestId) {
        return this.<GetIngestJobResponse>unary(requestId, settings.deadline(),
                (s, o) -> s.getIngestJob(request, o)).map(GetIngestJobResponse::getJob);
    }

    Flux<IngestJob> watchJob(WatchIngestJobRequest request, String requestId) {
        return GrpcReactive.<WatchIngestJobResponse>serverStream(o -> stub(requestId, settings.streamDeadline())
                .watchIngestJob(request, o)).map(WatchIngestJobResponse::getJob);
    }

    Mono<Void> deleteDocument(DeleteDocumentRequest request, String requestId) {
        return this.<DeleteDocumentResponse>unary(requestId, settings.deadline(), (s, o) -> s.deleteDocument(request, o))
                .then();
    }

    Mono<SearchResponse> search(SearchRequest request, String requestId) {
        return unary(requestId, settings.deadline(), (s, o) -> s.search(request, o));
    }

    Flux<AnswerResponse> answer(AnswerRequest request, String requestId) {
        return GrpcReactive.serverStream(o -> stub(requestId, settings.streamDeadline()).answer(request, o));
    }

    private <T> Mono<T> unary(String requestId, Duration deadline, BiConsumer<RagServiceStub, StreamObserver<T>> rpc) {
        return GrpcReactive.<T>unary(observer -> rpc.accept(stub(requestId, deadline), observer));
    }

    private RagServiceStub stub(String requestId, Duration deadline) {
        return CallStubs.forCall(stub, requestId, deadline);
    }
}
