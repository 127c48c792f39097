package io.tianshu.gateway.error;

import org.springframework.http.HttpStatus;
import org.springframework.http.HttpStatusCode;

/** A failure the gateway detected itself, already in the words the caller will read. */
public class ApiException extends RuntimeException {

    private final HttpStatusCode status;
    private final String type;
    private final String param;
    private final String code;

    public ApiException(HttpStatusCode status, String type, String message, String param, String code) {
        // No stack trace: these are expected outcomes of bad input, raised per request.
        super(message, null, false, false);
        this.status = status;
        this.type = type;
        this.param = param;
        this.code = code;
    }

    /** 400 naming the offending parameter, as OpenAI does. */
    public static ApiException invalidRequest(String message, String param) {
        return new ApiException(HttpStatus.BAD_REQUEST, "invalid_request_error", message, param, null);
    }

    /** 404 with OpenAI's code, so SDKs raise their NotFoundError. */
    public static ApiException modelNotFound(String model) {
        return new ApiException(HttpStatus.NOT_FOUND, "invalid_request_error",
                "The model '" + model + "' does not exist.", "model", "model_not_found");
    }

    ApiError toApiError() {
        return new ApiError(status, OpenAiError.of(getMessage(), type, param, code));
    }
}
