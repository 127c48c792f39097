package io.tianshu.gateway.backend;

import io.grpc.Metadata;
import io.grpc.stub.AbstractStub;
import io.grpc.stub.MetadataUtils;
import io.tianshu.gateway.requestid.RequestId;
import java.time.Duration;
import java.util.concurrent.TimeUnit;

/**
 * A stub for one call to a backend: its deadline, counted from now, and the request id as
 * metadata, so the backend's logs carry the caller's id. Built per call, never kept.
 */
public final class CallStubs {

    private static final Metadata.Key<String> REQUEST_ID =
            Metadata.Key.of(RequestId.METADATA_KEY, Metadata.ASCII_STRING_MARSHALLER);

    private CallStubs() {
    }

    /** @param requestId the id to send; empty sends none */
    public static <S extends AbstractStub<S>> S forCall(S stub, String requestId, Duration deadline) {
        S withDeadline = stub.withDeadlineAfter(deadline.toNanos(), TimeUnit.NANOSECONDS);
        if (requestId.isEmpty()) {
            return withDeadline;
        }
        Metadata headers = new Metadata();
        headers.put(REQUEST_ID, requestId);
        return withDeadline.withInterceptors(MetadataUtils.newAttachHeadersInterceptor(headers));
    }
}
