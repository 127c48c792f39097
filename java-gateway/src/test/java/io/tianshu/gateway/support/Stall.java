package io.tianshu.gateway.support;

import io.grpc.BindableService;
import io.grpc.ManagedChannel;
import io.grpc.Metadata;
import io.grpc.Server;
import io.grpc.ServerCall;
import io.grpc.ServerCallHandler;
import io.grpc.ServerInterceptor;
import io.grpc.inprocess.InProcessChannelBuilder;
import io.grpc.inprocess.InProcessServerBuilder;
import java.io.IOException;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * Makes an in-process backend hang, as one that stopped answering without closing its
 * connections: every call, of any service on the server, is accepted and never answered.
 * Only the caller's deadline (or a cancellation) ends it, which the server sees as a cancel.
 */
public class Stall implements ServerInterceptor {

    /** Calls that arrived and were left hanging. */
    public final AtomicInteger held = new AtomicInteger();
    /** Of those, the ones whose caller gave up. */
    public final AtomicInteger abandoned = new AtomicInteger();

    /** A hung backend: its server, a channel to it, and the stall holding its calls. */
    public record Backend(Stall stall, Server server, ManagedChannel channel) implements AutoCloseable {
        @Override
        public void close() {
            channel.shutdownNow();
            server.shutdownNow();
        }
    }

    /** An in-process server of these services whose every call hangs. */
    public static Backend serve(BindableService... services) throws IOException {
        String name = InProcessServerBuilder.generateName();
        InProcessServerBuilder builder = InProcessServerBuilder.forName(name);
        for (BindableService service : services) {
            builder.addService(service);
        }
        Stall stall = new Stall();
        Server server = builder.intercept(stall).build().start();
        return new Backend(stall, server, InProcessChannelBuilder.forName(name).build());
    }

    @Override
    public <Q, R> ServerCall.Listener<Q> interceptCall(ServerCall<Q, R> call, Metadata headers,
            ServerCallHandler<Q, R> next) {
        held.incrementAndGet();
        return new ServerCall.Listener<>() {
            @Override
            public void onCancel() {
                abandoned.incrementAndGet();
            }
        };
    }
}
