package io.tianshu.gateway.rag;

import com.google.protobuf.Any;
import com.google.protobuf.InvalidProtocolBufferException;
import com.google.rpc.ErrorInfo;
import com.google.rpc.QuotaFailure;
import io.grpc.Status;
import io.grpc.protobuf.StatusProto;
import java.util.OptionalLong;

/**
 * The RAG service's refusal of an upload that needs more embedding tokens than its
 * max_embedding_tokens: RESOURCE_EXHAUSTED with a google.rpc.QuotaFailure detail, and an
 * ErrorInfo (reason {@code EMBEDDING_TOKENS_OVER_LIMIT}) whose metadata carries the numbers
 * (python-rag/README.md). Any other RESOURCE_EXHAUSTED is the service's own overload and goes
 * through the status table like every backend failure.
 */
final class OverQuota {

    static final String REASON = "EMBEDDING_TOKENS_OVER_LIMIT";
    static final String NEEDED = "needed_embedding_tokens";

    private OverQuota() {
    }

    static boolean is(Throwable failure) {
        if (Status.fromThrowable(failure).getCode() != Status.Code.RESOURCE_EXHAUSTED) {
            return false;
        }
        com.google.rpc.Status rich = StatusProto.fromThrowable(failure);
        return rich != null && rich.getDetailsList().stream().anyMatch(detail -> detail.is(QuotaFailure.class));
    }

    /**
     * The upload's embedding tokens as the refusal states them; empty when it does not (the
     * caller is then told what is left, without the upload's size).
     */
    static OptionalLong neededTokens(Throwable refusal) {
        com.google.rpc.Status rich = StatusProto.fromThrowable(refusal);
        if (rich == null) {
            return OptionalLong.empty();
        }
        for (Any detail : rich.getDetailsList()) {
            try {
                if (detail.is(ErrorInfo.class)) {
                    ErrorInfo info = detail.unpack(ErrorInfo.class);
                    if (REASON.equals(info.getReason()) && info.containsMetadata(NEEDED)) {
                        return OptionalLong.of(Long.parseLong(info.getMetadataOrThrow(NEEDED)));
                    }
                }
            } catch (InvalidProtocolBufferException | NumberFormatException e) {
                return OptionalLong.empty();
            }
        }
        return OptionalLong.empty();
    }
}
