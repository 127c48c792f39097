package io.tianshu.gateway.support;

import io.grpc.Context;
import io.grpc.Contexts;
import io.grpc.Metadata;
import io.grpc.ServerCall;
import io.grpc.ServerCallHandler;
import io.grpc.ServerInterceptor;

/** Hands the x-request-id and traceparent metadata of each call to the fake service, as a real backend would read them. */
class MetadataCapture implements ServerInterceptor {

    static final Context.Key<String> REQUEST_ID = Context.key("x-request-id");
    static final Context.Key<String> TRACEPARENT = Context.key("traceparent");
    private static final Metadata.Key<String> REQUEST_ID_HEADER =
            Metadata.Key.of("x-request-id", Metadata.ASCII_STRING_MARSHALLER);
    private static final Metadata.Key<String> TRACEPARENT_HEADER =
            Metadata.Key.of("traceparent", Metadata.ASCII_STRING_MARSHALLER);

    @Override
    public <Q, R> ServerCall.Listener<Q> interceptCall(ServerCall<Q, R> call, Metadata headers, ServerCallHandler<Q, R> next) {
        Context context = Context.current().withValue(REQUEST_ID, headers.get(REQUEST_ID_HEADER))
                .withValue(TRACEPARENT, headers.get(TRACEPARENT_HEADER));
        return Contexts.interceptCall(context, call, headers, next);
    }
}
