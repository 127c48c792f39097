package io.tianshu.gateway.error;

import java.util.Map;
import org.springframework.core.codec.DecodingException;
import org.springframework.core.io.buffer.DataBufferLimitException;
import org.springframework.http.HttpStatus;

/**
 * Failures to read a multipart/form-data body (the upload routes read it with
 * {@code exchange.getMultipartData()}, which hands Spring's parser errors over unwrapped). A
 * body that is not the form it claims to be is the caller's mistake: 400 {@code invalid_multipart}
 * in our own words, since Spring's messages describe its parser's states.
 */
final class MultipartErrors {

    static final String CODE = "invalid_multipart";

    // Spring's parser messages (MultipartParser, DefaultPartHttpMessageReader, spring-web 6.2)
    // by their start, and what each means for the caller.
    private static final Map<String, String> PROBLEMS = Map.of(
            "No multipart boundary found",
            "The Content-Type multipart/form-data has no boundary parameter; send "
                    + "\"multipart/form-data; boundary=...\" with a body split by that boundary.",
            "Could not find first boundary",
            "The request body is not valid multipart/form-data: it does not start with the boundary named in the "
                    + "Content-Type.",
            "Could not find end of headers",
            "The request body is not valid multipart/form-data: a part's headers are not ended by a blank line.",
            "Could not find end of body",
            "The request body is not valid multipart/form-data: it ends before the closing boundary.",
            "Too many parts",
            "The request body is not valid multipart/form-data: it has more parts than this gateway reads.");
    private static final String UNKNOWN = "The request body is not valid multipart/form-data.";

    private MultipartErrors() {
    }

    /**
     * A parser's refusal of the body. Only those without a cause: a failure underneath (a
     * temporary file that cannot be written) is the gateway's, not the caller's.
     */
    static boolean isMalformedBody(Throwable t) {
        return t instanceof DecodingException && t.getCause() == null;
    }

    static ApiError fromDecoding(DecodingException e) {
        String message = e.getMessage() == null ? UNKNOWN : PROBLEMS.entrySet().stream()
                .filter(problem -> e.getMessage().startsWith(problem.getKey()))
                .map(Map.Entry::getValue).findFirst().orElse(UNKNOWN);
        return new ApiError(HttpStatus.BAD_REQUEST, OpenAiError.of(message, "invalid_request_error", null, CODE));
    }

    /** A part or its headers over the parser's memory or disk limits. */
    static ApiError fromLimit(DataBufferLimitException e) {
        return new ApiError(HttpStatus.PAYLOAD_TOO_LARGE, OpenAiError.of(
                "A part of the request body, or its headers, is larger than this gateway accepts.",
                "invalid_request_error", null, "request_too_large"));
    }
}
