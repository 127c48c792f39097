package io.tianshu.gateway.batches;

import io.grpc.ManagedChannel;

/**
 * The channel to the batch service, or none when no target is configured. Its own type, not a
 * bare ManagedChannel bean, so it can never be mistaken for another backend's channel.
 */
record JobsChannel(ManagedChannel channel) {

    static final JobsChannel NONE = new JobsChannel(null);

    boolean configured() {
        return channel != null;
    }

    void close() {
        if (channel != null) {
            channel.shutdownNow();
        }
    }
}
