package io.tianshu.gateway.backend;

import io.grpc.ManagedChannel;

/** Opens the channel to one inference instance; tests swap in in-process channels. */
@FunctionalInterface
public interface ChannelFactory {

    ManagedChannel open(String target);
}
