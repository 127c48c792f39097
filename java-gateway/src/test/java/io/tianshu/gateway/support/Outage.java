package io.tianshu.gateway.support;

import io.grpc.Metadata;
import io.grpc.ServerCall;
import io.grpc.ServerCallHandler;
import io.grpc.ServerInterceptor;
import io.grpc.Status;
import io.tianshu.inference.v1.InferenceServiceGrpc;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * Takes an in-process fake "down": while down, every call, GetLoad included, fails with
 * UNAVAILABLE as a stopped instance's would. Counts the calls that reached the server,
 * GetLoad aside, so a test can prove that a refusal never reached it.
 */
public class Outage implements ServerInterceptor {

    public final AtomicBoolean down = new AtomicBoolean();
    public final AtomicInteger calls = new AtomicInteger();

    public void reset() {
        down.set(false);
        calls.set(0);
    }

    @Override
    public <Q, R> ServerCall.Listener<Q> interceptCall(ServerCall<Q, R> call, Metadata headers,
            ServerCallHandler<Q, R> next) {
        if (!call.getMethodDescriptor().equals(InferenceServiceGrpc.getGetLoadMethod())) {
            calls.incrementAndGet();
        }
        if (down.get()) {
            call.close(Status.UNAVAILABLE.withDescription("instance is down"), new Metadata());
            return new ServerCall.Listener<>() {
            };
        }
        return next.startCall(call, headers);
    }
}
