package io.tianshu.gateway.error;

import io.github.resilience4j.bulkhead.BulkheadFullException;
import io.github.resilience4j.circuitbreaker.CallNotPermittedException;
import io.grpc.Status;
import io.tianshu.gateway.backend.CallRefusedException;
import org.springframework.http.HttpStatusCode;

/**
 * The one table from gRPC status codes to HTTP. Every backend failure goes through it,
 * including the gateway's refusals to call a backend at all (circuit open, bulkhead full), so
 * overload (429), outage (503), timeouts (504) and bad input (400) stay distinguishable
 * for callers instead of collapsing into 500.
 */
final class GrpcStatusTable {

    /**
     * @param defaultMessage the stable text callers read, documented in the README's error table
     * @param code the body's code; null means the gRPC code's name
     * @param callerFacing whether the backend's description is meant for the caller: true for
     *     the codes our services raise to refuse a request (a validation message, a missing
     *     collection); false for failures, whose descriptions come from gRPC itself as often as
     *     from a service (addresses, deadlines, transport states) and go to the log only
     */
    record Entry(int httpStatus, String type, String defaultMessage, String code, boolean callerFacing) {
        Entry(int httpStatus, String type, String defaultMessage, boolean callerFacing) {
            this(httpStatus, type, defaultMessage, null, callerFacing);
        }

        HttpStatusCode status() {
            return HttpStatusCode.valueOf(httpStatus);
        }
    }

    private GrpcStatusTable() {
    }

    static Entry lookup(Status.Code code) {
        return switch (code) {
            case INVALID_ARGUMENT, FAILED_PRECONDITION, OUT_OF_RANGE ->
                    new Entry(400, "invalid_request_error", "The request was rejected by the backend", true);
            case UNAUTHENTICATED -> new Entry(401, "authentication_error", "Authentication required", true);
            case PERMISSION_DENIED -> new Entry(403, "permission_error", "Permission denied", true);
            case NOT_FOUND -> new Entry(404, "not_found_error", "Not found", true);
            case ALREADY_EXISTS, ABORTED -> new Entry(409, "conflict_error", "Conflict", true);
            case RESOURCE_EXHAUSTED ->
                    new Entry(429, "rate_limit_error", "The backend is overloaded; retry later", true);
            // 499 is nginx's "client closed request": the call was cancelled on our side.
            case CANCELLED -> new Entry(499, "request_cancelled", "The request was cancelled", false);
            case UNIMPLEMENTED -> new Entry(501, "not_implemented_error", "Not implemented by the backend", false);
            case UNAVAILABLE ->
                    new Entry(503, "service_unavailable_error", "The backend service is unavailable", false);
            case DEADLINE_EXCEEDED -> new Entry(504, "timeout_error", "The backend did not answer in time", false);
            default -> new Entry(500, "server_error", "The backend failed", false);
        };
    }

    /**
     * The gateway's own refusals to call a backend, in the terms of the gRPC codes they stand
     * in for: a backend's breaker open (for inference: every instance's) is an outage
     * (UNAVAILABLE, 503); every inference bulkhead full is overload (RESOURCE_EXHAUSTED, 429,
     * like a backend's full queue). Both carry Retry-After, set by the caller of this table.
     *
     * @param service the backend refused, as {@link CallRefusedException#service()}
     */
    static Entry lookupRefusal(Throwable refusal, String service) {
        if (refusal instanceof BulkheadFullException) {
            return new Entry(429, "rate_limit_error",
                    "Every inference instance has as many calls in flight as the gateway allows; retry later",
                    "backend_busy", false);
        }
        if (refusal instanceof CallNotPermittedException) {
            return new Entry(503, "service_unavailable_error", CallRefusedException.INFERENCE.equals(service)
                    ? "Every inference instance is failing; the gateway stopped calling them for now, retry later"
                    : "The " + service + " service is failing; the gateway stopped calling it for now, retry later",
                    "circuit_open", false);
        }
        return lookup(Status.Code.UNKNOWN);
    }
}
