package io.tianshu.gateway.error;

import org.springframework.http.HttpHeaders;
import org.springframework.http.HttpStatusCode;

/** What the caller gets for a failure: a status, OpenAI's body, and extra headers (Allow). */
public record ApiError(HttpStatusCode status, OpenAiError body, HttpHeaders headers) {

    ApiError(HttpStatusCode status, OpenAiError body) {
        this(status, body, HttpHeaders.EMPTY);
    }
}
