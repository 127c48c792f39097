package io.tianshu.gateway.support;

import io.grpc.Context;
import io.grpc.Contexts;
import io.grpc.Metadata;
import io.grpc.ServerCall;
import io.grpc.ServerCallHandler;
import io.grpc.ServerInterceptor;

/** Hands the x-request-id metadata of each call to the fake service, as a real backend would read it. */
class RequestIdCapture implements ServerInterceptor {

    static final Context.Key<String> CURRENT = Context.key("x-request-id");
    private static final Metadata.Key<String> HEADER = Metadata.Key.of("x-request-id", Metadata.ASCII_STRING_MARSHALLER);

    @Override
    public <Q, R> ServerCall.Listener<Q> interceptCall(ServerCall<Q, R> call, Metadata headers, ServerCallHandler<Q, R> next) {
        return Contexts.interceptCall(Context.current().withValue(CURRENT, headers.get(HEADER)), call, headers, next);
    }
}
