package io.tianshu.gateway.error;

import com.google.protobuf.Any;
import com.google.protobuf.InvalidProtocolBufferException;
import com.google.rpc.BadRequest;
import io.grpc.protobuf.StatusProto;
import java.util.List;

/** The fields a backend's status names in its google.rpc.BadRequest detail (python-common's InvalidArgument). */
public final class FieldViolations {

    private FieldViolations() {
    }

    /** The violations of the first BadRequest detail; none when the failure carries no such detail. */
    public static List<BadRequest.FieldViolation> of(Throwable failure) {
        com.google.rpc.Status rich = StatusProto.fromThrowable(failure);
        if (rich == null) {
            return List.of();
        }
        for (Any detail : rich.getDetailsList()) {
            if (!detail.is(BadRequest.class)) {
                continue;
            }
            try {
                return detail.unpack(BadRequest.class).getFieldViolationsList();
            } catch (InvalidProtocolBufferException e) {
                return List.of();
            }
        }
        return List.of();
    }
}
