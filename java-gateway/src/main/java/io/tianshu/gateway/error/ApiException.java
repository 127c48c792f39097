package io.tianshu.gateway.error;

import org.springframework.http.HttpHeaders;
import org.springframework.http.HttpStatus;
import org.springframework.http.HttpStatusCode;

/** A failure the gateway detected itself, already in the words the caller will read. */
public class ApiException extends RuntimeException {

    private final HttpStatusCode status;
    private final String type;
    private final String param;
    private final String code;
    private final HttpHeaders headers;

    public ApiException(HttpStatusCode status, String type, String message, String param, String code) {
        this(status, type, message, param, code, HttpHeaders.EMPTY);
    }

    public ApiException(HttpStatusCode status, String type, String message, String param, String code,
            HttpHeaders headers) {
        // No stack trace: these are expected outcomes of bad input, raised per request.
        super(message, null, false, false);
        this.status = status;
        this.type = type;
        this.param = param;
        this.code = code;
        this.headers = headers;
    }

    /** 401 with OpenAI's body, so SDKs raise their AuthenticationError. */
    public static ApiException invalidApiKey(String message) {
        HttpHeaders headers = new HttpHeaders();
        headers.set(HttpHeaders.WWW_AUTHENTICATE, "Bearer");
        return new ApiException(HttpStatus.UNAUTHORIZED, "invalid_request_error", message, null, "invalid_api_key",
                headers);
    }

    /** 403: the caller is known but may not do this. */
    public static ApiException forbidden(String message, String param, String code) {
        return new ApiException(HttpStatus.FORBIDDEN, "permission_error", message, param, code);
    }

    /** 403: the caller's key lacks the scope this method and path need. */
    public static ApiException insufficientScope(String method, String path) {
        return forbidden("This API key lacks the scope that " + method + " " + path + " requires.", null,
                "insufficient_scope");
    }

    /** 404 for an admin resource. */
    public static ApiException notFound(String message) {
        return new ApiException(HttpStatus.NOT_FOUND, "invalid_request_error", message, null, "not_found");
    }

    /** 404 for a file; another tenant's file answers exactly like one that does not exist. */
    public static ApiException fileNotFound(String id) {
        return fileNotFound(id, "id");
    }

    /** @param param the request field that named the file */
    public static ApiException fileNotFound(String id, String param) {
        return new ApiException(HttpStatus.NOT_FOUND, "invalid_request_error", "No such File object: " + id, param,
                "not_found");
    }

    /**
     * 404 for a stored response; another tenant's answers exactly like one that does not exist.
     *
     * @param param the request field that named it ("previous_response_id"), or null for the path
     */
    public static ApiException responseNotFound(String id, String param) {
        return new ApiException(HttpStatus.NOT_FOUND, "invalid_request_error",
                "Response with id '" + id + "' not found.", param, "not_found");
    }

    /** 413: the body is larger than the gateway accepts. */
    public static ApiException bodyTooLarge(long limit) {
        return new ApiException(HttpStatus.PAYLOAD_TOO_LARGE, "invalid_request_error",
                "The request body is larger than " + limit + " bytes.", null, "request_too_large");
    }

    /** 413 for an uploaded file over the files limit, naming the setting that sets it. */
    public static ApiException fileTooLarge(long limit) {
        return new ApiException(HttpStatus.PAYLOAD_TOO_LARGE, "invalid_request_error",
                "The file is larger than " + limit + " bytes, the most this gateway accepts "
                        + "(tianshu.files.max-bytes, TIANSHU_FILES_MAX_BYTES).", "file", "file_too_large");
    }

    /** 503: this gateway has no batch service configured. */
    public static ApiException batchUnavailable() {
        return new ApiException(HttpStatus.SERVICE_UNAVAILABLE, "service_unavailable_error",
                "Batch jobs are not configured on this gateway: set tianshu.batch.target (TIANSHU_BATCH_TARGET) "
                        + "to the batch service's gRPC address.", null, "batch_unavailable");
    }

    /** 400 naming the offending parameter, as OpenAI does. */
    public static ApiException invalidRequest(String message, String param) {
        return new ApiException(HttpStatus.BAD_REQUEST, "invalid_request_error", message, param, null);
    }

    /** 400: an operator switched this part of the API off (tianshu.dynamic.features). */
    public static ApiException featureDisabled(String what, String param) {
        return new ApiException(HttpStatus.BAD_REQUEST, "invalid_request_error",
                what + " is switched off on this gateway.", param, "feature_disabled");
    }

    /** 404 with OpenAI's code, so SDKs raise their NotFoundError. */
    public static ApiException modelNotFound(String model) {
        return new ApiException(HttpStatus.NOT_FOUND, "invalid_request_error",
                "The model '" + model + "' does not exist.", "model", "model_not_found");
    }

    /**
     * The same refusal (status, type, code, headers) in other words: for a check that ran on
     * behalf of something else, such as a batch line's model, whose message must say where.
     */
    public ApiException reworded(String message, String param) {
        return new ApiException(status, type, message, param, code, headers);
    }

    /** The request field the refusal names, or null. */
    public String param() {
        return param;
    }

    ApiError toApiError() {
        return new ApiError(status, OpenAiError.of(getMessage(), type, param, code), headers);
    }
}
