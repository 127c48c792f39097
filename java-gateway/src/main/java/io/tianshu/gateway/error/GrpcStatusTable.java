package io.tianshu.gateway.error;

import io.grpc.Status;
import org.springframework.http.HttpStatusCode;

/**
 * The one table from gRPC status codes to HTTP. Every backend failure goes through it, so
 * overload (429), outage (503), timeouts (504) and bad input (400) stay distinguishable
 * for callers instead of collapsing into 500.
 */
final class GrpcStatusTable {

    record Entry(int httpStatus, String type, String defaultMessage) {
        HttpStatusCode status() {
            return HttpStatusCode.valueOf(httpStatus);
        }
    }

    private GrpcStatusTable() {
    }

    static Entry lookup(Status.Code code) {
        return switch (code) {
            case INVALID_ARGUMENT, FAILED_PRECONDITION, OUT_OF_RANGE ->
                    new Entry(400, "invalid_request_error", "The request was rejected by the backend");
            case UNAUTHENTICATED -> new Entry(401, "authentication_error", "Authentication required");
            case PERMISSION_DENIED -> new Entry(403, "permission_error", "Permission denied");
            case NOT_FOUND -> new Entry(404, "not_found_error", "Not found");
            case ALREADY_EXISTS, ABORTED -> new Entry(409, "conflict_error", "Conflict");
            case RESOURCE_EXHAUSTED -> new Entry(429, "rate_limit_error", "The backend is overloaded; retry later");
            // 499 is nginx's "client closed request": the call was cancelled on our side.
            case CANCELLED -> new Entry(499, "request_cancelled", "The request was cancelled");
            case UNIMPLEMENTED -> new Entry(501, "not_implemented_error", "Not implemented by the backend");
            case UNAVAILABLE -> new Entry(503, "service_unavailable_error", "The backend service is unavailable");
            case DEADLINE_EXCEEDED -> new Entry(504, "timeout_error", "The backend did not answer in time");
            default -> new Entry(500, "server_error", "The backend failed");
        };
    }
}
