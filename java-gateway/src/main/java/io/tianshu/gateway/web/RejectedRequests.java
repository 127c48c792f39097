package io.tianshu.gateway.web;

import io.tianshu.gateway.error.ApiException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.springframework.http.HttpStatus;
import org.springframework.security.web.server.firewall.ServerExchangeRejectedException;
import org.springframework.security.web.server.firewall.ServerExchangeRejectedHandler;
import org.springframework.stereotype.Component;
import org.springframework.web.server.ServerWebExchange;
import reactor.core.publisher.Mono;

/**
 * Requests Spring Security's firewall refuses before any route sees them (encoded control
 * characters, '%25', '%2F' or ';' in the path; control characters in a header or parameter).
 * Its own handler answers 400 with an empty body; this one hands the refusal to the error
 * handler, so the caller gets OpenAI's error body like for any other bad request.
 */
@Component
class RejectedRequests implements ServerExchangeRejectedHandler {

    private static final Logger log = LoggerFactory.getLogger(RejectedRequests.class);

    @Override
    public Mono<Void> handle(ServerWebExchange exchange, ServerExchangeRejectedException rejected) {
        // The firewall's reason quotes what it found; useful to an operator, a probe's map to a caller.
        log.info("request refused by the firewall: {}", rejected.getMessage());
        return Mono.error(new ApiException(HttpStatus.BAD_REQUEST, "invalid_request_error",
                "The request is refused: its URL, a parameter or a header holds a character this gateway does not "
                        + "accept (an encoded control character, '%25', '%2F' or ';' in the path, or a control "
                        + "character elsewhere).", null, "invalid_request"));
    }
}
