package io.tianshu.gateway.error;

import static org.assertj.core.api.Assertions.assertThat;

import com.google.protobuf.Any;
import com.google.rpc.BadRequest;
import com.google.rpc.Code;
import io.grpc.Status;
import io.grpc.protobuf.StatusProto;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.params.provider.EnumSource;

class GrpcStatusTableTest {

    @ParameterizedTest(name = "{0} -> {1} {2}")
    @CsvSource({
        "INVALID_ARGUMENT, 400, invalid_request_error",
        "FAILED_PRECONDITION, 400, invalid_request_error",
        "OUT_OF_RANGE, 400, invalid_request_error",
        "UNAUTHENTICATED, 401, authentication_error",
        "PERMISSION_DENIED, 403, permission_error",
        "NOT_FOUND, 404, not_found_error",
        "ALREADY_EXISTS, 409, conflict_error",
        "ABORTED, 409, conflict_error",
        "RESOURCE_EXHAUSTED, 429, rate_limit_error",
        "CANCELLED, 499, request_cancelled",
        "UNIMPLEMENTED, 501, not_implemented_error",
        "UNAVAILABLE, 503, service_unavailable_error",
        "DEADLINE_EXCEEDED, 504, timeout_error",
        "INTERNAL, 500, server_error",
        "UNKNOWN, 500, server_error",
        "DATA_LOSS, 500, server_error",
    })
    void grpcCodeMapsToHttpStatusAndOpenAiType(Status.Code code, int status, String type) {
        ApiError error = ErrorMapper.toApiError(Status.fromCode(code).withDescription("why").asRuntimeException(), null);

        assertThat(error.status().value()).isEqualTo(status);
        assertThat(error.body().error().type()).isEqualTo(type);
        assertThat(error.body().error().code()).isEqualTo(code.name().toLowerCase());
        assertThat(error.body().error().message()).contains("why");
    }

    @ParameterizedTest
    @EnumSource(value = Status.Code.class, names = "OK", mode = EnumSource.Mode.EXCLUDE)
    void everyFailureCodeHasAMessageEvenWithoutDescription(Status.Code code) {
        ApiError error = ErrorMapper.toApiError(Status.fromCode(code).asRuntimeException(), null);

        assertThat(error.body().error().message()).isNotBlank();
    }

    @Test
    void badRequestDetailBecomesTheOpenAiParam() {
        var rich = com.google.rpc.Status.newBuilder()
                .setCode(Code.INVALID_ARGUMENT_VALUE)
                .setMessage("top_p: must be in (0, 1]")
                .addDetails(Any.pack(BadRequest.newBuilder().addFieldViolations(
                        BadRequest.FieldViolation.newBuilder().setField("generation.sampling.top_p")).build()))
                .build();

        ApiError error = ErrorMapper.toApiError(StatusProto.toStatusRuntimeException(rich), null);

        assertThat(error.status().value()).isEqualTo(400);
        assertThat(error.body().error().param()).isEqualTo("top_p");
        assertThat(error.body().error().message()).isEqualTo("top_p: must be in (0, 1]");
    }

    @Test
    void unexpectedExceptionIs500WithoutItsMessage() {
        ApiError error = ErrorMapper.toApiError(new IllegalStateException("secret internals"), null);

        assertThat(error.status().value()).isEqualTo(500);
        assertThat(error.body().error().message()).doesNotContain("secret internals");
    }
}
