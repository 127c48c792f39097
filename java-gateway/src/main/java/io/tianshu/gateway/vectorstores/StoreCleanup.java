package io.tianshu.gateway.vectorstores;

import io.grpc.Status;
import io.tianshu.gateway.db.Blocking;
import io.tianshu.gateway.files.FileAttachments;
import io.tianshu.gateway.rag.RagClient;
import io.tianshu.rag.v1.DeleteCollectionRequest;
import io.tianshu.rag.v1.DeleteDocumentRequest;
import org.springframework.stereotype.Component;
import reactor.core.publisher.Flux;
import reactor.core.publisher.Mono;

/**
 * Removing a file from a store (its RAG document with its chunks, then the record) and a whole
 * store (its RAG collection, then its records). The RAG side goes first, so a failure there
 * leaves the store as it was; what the RAG service no longer has (a document whose ingestion
 * failed, a collection deleted through /v1/rag) is not an error.
 */
@Component
class StoreCleanup implements FileAttachments {

    private final VectorStoreRepository repository;
    private final RagClient rag;

    StoreCleanup(VectorStoreRepository repository, RagClient rag) {
        this.repository = repository;
        this.rag = rag;
    }

    Mono<Void> removeFile(String tenant, String storeId, String fileId, String requestId) {
        return gone(rag.deleteDocument(DeleteDocumentRequest.newBuilder().setTenantId(tenant)
                        .setCollectionId(storeId).setDocumentId(fileId).build(), requestId))
                .then(Blocking.call(() -> repository.deleteFile(tenant, storeId, fileId)))
                .then();
    }

    Mono<Void> removeStore(String tenant, String storeId, String requestId) {
        return gone(rag.deleteCollection(DeleteCollectionRequest.newBuilder().setTenantId(tenant)
                        .setCollectionId(storeId).build(), requestId))
                .then(Blocking.call(() -> repository.deleteStore(tenant, storeId)))
                .then();
    }

    /** A deleted upload leaves every store that held it, as with OpenAI. */
    @Override
    public Mono<Void> detach(String tenant, String fileId, String requestId) {
        return Blocking.call(() -> repository.storesHolding(tenant, fileId))
                .flatMapMany(Flux::fromIterable)
                .concatMap(storeId -> removeFile(tenant, storeId, fileId, requestId))
                .then();
    }

    private static Mono<Void> gone(Mono<Void> delete) {
        return delete.onErrorResume(failure -> Status.fromThrowable(failure).getCode() == Status.Code.NOT_FOUND,
                failure -> Mono.empty());
    }
}
