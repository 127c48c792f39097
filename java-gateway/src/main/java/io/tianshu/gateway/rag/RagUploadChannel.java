package io.tianshu.gateway.rag;

import io.grpc.ManagedChannel;

/**
 * A connection to the RAG service of its own for uploads (IngestDocuments, up to megabytes a
 * call). On one connection, uploads and searches share HTTP/2's flow-control window: twenty 1 MB
 * uploads at once can fill it while the service is slow to read, and a search's few hundred
 * bytes then wait behind them. On a separate connection they never queue behind an upload.
 */
public record RagUploadChannel(ManagedChannel channel) implements AutoCloseable {

    @Override
    public void close() {
        channel.shutdownNow();
    }
}
