package io.tianshu.gateway.rag;

import com.google.protobuf.Any;
import com.google.protobuf.InvalidProtocolBufferException;
import com.google.rpc.QuotaFailure;
import io.grpc.Status;
import io.grpc.protobuf.StatusProto;
import java.util.OptionalLong;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * The RAG service's refusal of an upload that needs more embedding tokens than its
 * max_embedding_tokens: RESOURCE_EXHAUSTED with a google.rpc.QuotaFailure detail, and the
 * message {@code the documents need N embedding tokens, more than max_embedding_tokens (M)}
 * (python-rag/README.md). Any other RESOURCE_EXHAUSTED is the service's own overload and goes
 * through the status table like every backend failure.
 */
final class OverQuota {

    private static final Pattern NEEDED = Pattern.compile("need (\\d+) embedding tokens");

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
                if (detail.is(QuotaFailure.class)) {
                    for (QuotaFailure.Violation violation : detail.unpack(QuotaFailure.class).getViolationsList()) {
                        Matcher m = NEEDED.matcher(violation.getDescription());
                        if (m.find()) {
                            return OptionalLong.of(Long.parseLong(m.group(1)));
                        }
                    }
                }
            } catch (InvalidProtocolBufferException | NumberFormatException e) {
                return OptionalLong.empty();
            }
        }
        return OptionalLong.empty();
    }
}
