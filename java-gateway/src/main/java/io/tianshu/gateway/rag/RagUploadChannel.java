package io.tianshu.gateway.rag;

import io.grpc.ManagedChannel;

/**
 * A connection to the RAG service of its own for uploads (IngestDocuments, up to megabytes a
 * call). On the connection searches use, twenty 1 MB uploads at once fill HTTP/2's shared
 * flow-control window, and a search's few hundred bytes wait behind them; on a separate
 * connection they never queue behind an upload's bytes.
 */
public record RagUploadChannel(ManagedChannel channel) implements AutoCloseable {

    @Override
    public void close() {
        channel.shutdownNow();
    }
}
