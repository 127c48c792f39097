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

    @ParameterizedTest(name = "{0} -> {1} {2}, description passed: {3}")
    @CsvSource({
        "INVALID_ARGUMENT, 400, invalid_request_error, true",
        "FAILED_PRECONDITION, 400, invalid_request_error, true",
        "OUT_OF_RANGE, 400, invalid_request_error, true",
        "UNAUTHENTICATED, 401, authentication_error, true",
        "PERMISSION_DENIED, 403, permission_error, true",
        "NOT_FOUND, 404, not_found_error, true",
        "ALREADY_EXISTS, 409, conflict_error, true",
        "ABORTED, 409, conflict_error, true",
        "RESOURCE_EXHAUSTED, 429, rate_limit_error, true",
        "CANCELLED, 499, request_cancelled, false",
        "UNIMPLEMENTED, 501, not_implemented_error, false",
        "UNAVAILABLE, 503, service_unavailable_error, false",
        "DEADLINE_EXCEEDED, 504, timeout_error, false",
        "INTERNAL, 500, server_error, false",
        "UNKNOWN, 500, server_error, false",
        "DATA_LOSS, 500, server_error, false",
    })
    void grpcCodeMapsToHttpStatusAndOpenAiType(Status.Code code, int status, String type, boolean passed) {
        ApiError error = ErrorMapper.toApiError(Status.fromCode(code).withDescription("why").asRuntimeException(), null,
                "req-7");

        assertThat(error.status().value()).isEqualTo(status);
        assertThat(error.body().error().type()).isEqualTo(type);
        assertThat(error.body().error().code()).isEqualTo(code.name().toLowerCase());
        if (passed) {
            assertThat(error.body().error().message()).isEqualTo("why");
        } else {
            assertThat(error.body().error().message())
                    .isEqualTo(GrpcStatusTable.lookup(code).defaultMessage() + " (request id: req-7).");
        }
    }

    @ParameterizedTest
    @EnumSource(value = Status.Code.class, names = "OK", mode = EnumSource.Mode.EXCLUDE)
    void everyFailureCodeHasAMessageEvenWithoutDescription(Status.Code code) {
        ApiError error = ErrorMapper.toApiError(Status.fromCode(code).asRuntimeException(), null, "req-7");

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

        ApiError error = ErrorMapper.toApiError(StatusProto.toStatusRuntimeException(rich), null, "req-7");

        assertThat(error.status().value()).isEqualTo(400);
        assertThat(error.body().error().param()).isEqualTo("top_p");
        assertThat(error.body().error().message()).isEqualTo("top_p: must be in (0, 1]");
    }

    @ParameterizedTest(name = "{0} -> {1}")
    @CsvSource({
        "generation.tools[3].parameters_json, tools[3].function.parameters",
        "generation.tools[0].name, tools[0].function.name",
        "generation.tools[12].description, tools[12].function.description",
        "generation.tool_choice.function_name, tool_choice.function.name",
        "generation.tool_choice.mode, tool_choice",
        "generation.messages[2].tool_calls[1].arguments, messages[2].tool_calls[1].function.arguments",
        "generation.messages[2].tool_call_id, messages[2].tool_call_id",
        "generation.parallel_tool_calls, parallel_tool_calls",
    })
    void toolFieldsABackendNamesAreNamedAsInOpenAisJson(String field, String param) {
        var rich = com.google.rpc.Status.newBuilder().setCode(Code.INVALID_ARGUMENT_VALUE).setMessage("bad tool")
                .addDetails(Any.pack(BadRequest.newBuilder().addFieldViolations(
                        BadRequest.FieldViolation.newBuilder().setField(field)).build()))
                .build();

        ApiError error = ErrorMapper.toApiError(StatusProto.toStatusRuntimeException(rich), null, "req-7");

        assertThat(error.body().error().param()).isEqualTo(param);
    }

    @Test
    void unexpectedExceptionIs500WithoutItsMessageButWithTheRequestId() {
        ApiError error = ErrorMapper.toApiError(new IllegalStateException("secret internals"), null, "req-7");

        assertThat(error.status().value()).isEqualTo(500);
        assertThat(error.body().error().message())
                .isEqualTo("The server had an error while processing your request (request id: req-7).");
    }
}
