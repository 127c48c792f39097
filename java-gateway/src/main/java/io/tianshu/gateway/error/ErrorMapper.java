package io.tianshu.gateway.error;

import com.google.rpc.BadRequest;
import io.grpc.Status;
import io.grpc.StatusException;
import io.grpc.StatusRuntimeException;
import io.tianshu.gateway.backend.CallRefusedException;
import java.util.List;
import java.util.stream.Stream;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.springframework.core.codec.DecodingException;
import org.springframework.core.io.buffer.DataBufferLimitException;
import org.springframework.dao.DataAccessResourceFailureException;
import org.springframework.dao.TransientDataAccessException;
import org.springframework.http.HttpHeaders;
import org.springframework.http.HttpStatus;
import org.springframework.http.HttpStatusCode;
import org.springframework.http.MediaType;
import org.springframework.http.server.reactive.ServerHttpRequest;
import org.springframework.web.server.MethodNotAllowedException;
import org.springframework.web.server.ResponseStatusException;
import org.springframework.web.server.ServerWebInputException;
import org.springframework.web.server.UnsupportedMediaTypeStatusException;
import reactor.core.Exceptions;

/**
 * Turns any failure into what the caller sees. Used by the global exception handler and by
 * the SSE stream for failures after the response started, so both say the same thing.
 */
public final class ErrorMapper {

    private static final Logger log = LoggerFactory.getLogger(ErrorMapper.class);

    // Long enough for a database failover or restart to be worth waiting for, short enough
    // that callers come back soon after it.
    private static final long DATABASE_RETRY_AFTER_SECONDS = 5;

    // Tool fields that sit flat in the protos and in a function object in OpenAI's JSON
    // (tools[0].parameters_json is the caller's tools[0].function.parameters).
    private static final String[][] TOOL_FIELDS = {
        {"^(tools\\[\\d+])\\.parameters_json$", "$1.function.parameters"},
        {"^(tools\\[\\d+])\\.(name|description)$", "$1.function.$2"},
        {"^(messages\\[\\d+]\\.tool_calls\\[\\d+])\\.(name|arguments)$", "$1.function.$2"},
        {"^tool_choice\\.function_name$", "tool_choice.function.name"},
        {"^tool_choice\\.mode$", "tool_choice"},
    };

    private ErrorMapper() {
    }

    /**
     * @param request for messages naming the route; null where there is none to name
     * @param requestId added to the message of every failure that is ours, not the caller's
     *     (5xx, 499), so that a caller can quote it and an operator find the log line with the
     *     details the body leaves out
     */
    public static ApiError toApiError(Throwable failure, ServerHttpRequest request, String requestId) {
        Throwable t = Exceptions.unwrap(failure);
        if (t instanceof ApiException api) {
            return api.toApiError();
        }
        if (t instanceof CallRefusedException refused) {
            return fromRefusal(refused, requestId);
        }
        Throwable grpc = grpcCause(t);
        if (grpc != null) {
            return fromGrpc(Status.fromThrowable(grpc), grpc, requestId);
        }
        if (t instanceof DataAccessResourceFailureException || t instanceof TransientDataAccessException) {
            // An outage, not a bug: one line without the trace, and the caller is told to retry.
            log.warn("database unavailable, request {}: {}", requestId, t.toString());
            return databaseUnavailable(requestId);
        }
        String refusedValue = StoredValueErrors.dataExceptionState(t);
        if (refusedValue != null) {
            log.info("database refused a value of the request, request {}: {}", requestId, t.getMessage());
            return StoredValueErrors.refused(refusedValue);
        }
        if (t instanceof ServerWebInputException input) {
            return JsonBodyErrors.fromInput(input);
        }
        if (MultipartErrors.isMalformedBody(t)) {
            return MultipartErrors.fromDecoding((DecodingException) t);
        }
        if (t instanceof DataBufferLimitException limit) {
            return MultipartErrors.fromLimit(limit);
        }
        if (t instanceof ResponseStatusException rse) {
            return fromResponseStatus(rse, request, requestId);
        }
        // Anything else is a bug in the gateway: full detail goes to the log, none to the caller.
        log.error("unexpected failure, request {}", requestId, t);
        return new ApiError(HttpStatus.INTERNAL_SERVER_ERROR, OpenAiError.of(
                withRequestId("The server had an error while processing your request", requestId), "server_error",
                null, null));
    }

    /**
     * A backend's status. A caller-facing description (a validation message) is the message;
     * any other failure answers the table's fixed text and the request id, and its description
     * (gRPC's own, with addresses and transport details, as often as a service's) goes to the
     * log in one line.
     */
    static ApiError fromGrpc(Status status, Throwable t, String requestId) {
        GrpcStatusTable.Entry entry = GrpcStatusTable.lookup(status.getCode());
        String description = status.getDescription();
        String message;
        if (!entry.callerFacing()) {
            log.warn("backend call failed, request {}: {}", requestId, status);
            message = withRequestId(entry.defaultMessage(), requestId);
        } else if (description == null || description.isBlank()) {
            message = entry.defaultMessage() + ".";
        } else {
            message = description;
        }
        return new ApiError(entry.status(), OpenAiError.of(
                message, entry.type(), fieldOf(t), status.getCode().name().toLowerCase()));
    }

    static ApiError fromRefusal(CallRefusedException refused, String requestId) {
        GrpcStatusTable.Entry entry = GrpcStatusTable.lookupRefusal(refused.getCause(), refused.service());
        HttpHeaders headers = new HttpHeaders();
        headers.set(HttpHeaders.RETRY_AFTER, Long.toString(refused.retryAfterSeconds()));
        return new ApiError(entry.status(), OpenAiError.of(entry.httpStatus() >= 500
                ? withRequestId(entry.defaultMessage(), requestId) : entry.defaultMessage() + ".", entry.type(), null,
                entry.code()), headers);
    }

    /** Keys, tenants and buckets live in PostgreSQL: without it no call can be authenticated or admitted. */
    static ApiError databaseUnavailable(String requestId) {
        HttpHeaders headers = new HttpHeaders();
        headers.set(HttpHeaders.RETRY_AFTER, Long.toString(DATABASE_RETRY_AFTER_SECONDS));
        return new ApiError(HttpStatus.SERVICE_UNAVAILABLE, OpenAiError.of(
                withRequestId("The gateway cannot reach its database; retry later", requestId),
                "service_unavailable_error", null, "database_unavailable"), headers);
    }

    /** "TEXT (request id: ID)." — without an id (none known) just "TEXT.". */
    static String withRequestId(String text, String requestId) {
        return requestId == null ? text + "." : text + " (request id: " + requestId + ").";
    }

    private static Throwable grpcCause(Throwable t) {
        for (Throwable c = t; c != null; c = c.getCause() == c ? null : c.getCause()) {
            if (c instanceof StatusRuntimeException || c instanceof StatusException) {
                return c;
            }
        }
        return null;
    }

    /** The field a backend named in google.rpc.BadRequest, in the caller's vocabulary. */
    private static String fieldOf(Throwable t) {
        List<BadRequest.FieldViolation> violations = FieldViolations.of(t);
        if (violations.isEmpty()) {
            return null;
        }
        // The protos nest sampling and retrieval fields; the REST bodies have them at the top level.
        return inOpenAiShape(violations.get(0).getField().replaceFirst("^generation\\.", "")
                .replaceFirst("^(sampling|options)\\.", ""));
    }

    private static String inOpenAiShape(String field) {
        for (String[] rename : TOOL_FIELDS) {
            field = field.replaceFirst(rename[0], rename[1]);
        }
        return field;
    }

    /**
     * The body types the route reads, of the two the API uses (JSON; multipart/form-data for
     * uploads; either for document ingestion). Spring's own list for a JSON body also names
     * every type its JSON reader could parse (application/x-ndjson, ...), which no route expects.
     */
    private static String accepted(UnsupportedMediaTypeStatusException e) {
        List<String> named = Stream.of(MediaType.APPLICATION_JSON, MediaType.MULTIPART_FORM_DATA)
                .filter(type -> e.getSupportedMediaTypes().stream().anyMatch(type::equalsTypeAndSubtype))
                .map(MediaType::toString).toList();
        return named.isEmpty() ? MediaType.APPLICATION_JSON_VALUE : String.join(" or ", named);
    }

    private static ApiError fromResponseStatus(ResponseStatusException e, ServerHttpRequest request,
            String requestId) {
        HttpStatusCode status = e.getStatusCode();
        if (status.is5xxServerError()) {
            // Spring's reason for a server-side status names framework internals.
            log.error("request failed in the framework, request {}: {}", requestId, e.toString());
            return new ApiError(status, OpenAiError.of(withRequestId(
                    "The server had an error while processing your request", requestId), "server_error", null, null),
                    e.getHeaders());
        }
        String path = request == null ? "" : request.getPath().value();
        String where = request == null ? "" : request.getMethod() + " " + path;
        String message;
        if (e instanceof MethodNotAllowedException m) {
            message = "Method " + m.getHttpMethod() + " is not allowed for " + path
                    + "; allowed: " + m.getSupportedMethods() + ".";
        } else if (e instanceof UnsupportedMediaTypeStatusException u) {
            message = "Unsupported Content-Type " + u.getContentType() + "; send " + accepted(u) + ".";
        } else if (status.value() == 404) {
            message = "Unknown request URL: " + where + ". Please check the URL for typos.";
        } else {
            message = e.getReason() != null ? e.getReason() : "Request failed with status " + status.value() + ".";
        }
        return new ApiError(status, OpenAiError.of(message, "invalid_request_error", null, null), e.getHeaders());
    }
}
