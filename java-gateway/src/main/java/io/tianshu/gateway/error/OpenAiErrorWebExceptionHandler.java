package io.tianshu.gateway.error;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.tianshu.gateway.requestid.RequestId;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.slf4j.MDC;
import org.springframework.core.annotation.Order;
import org.springframework.http.HttpHeaders;
import org.springframework.http.MediaType;
import org.springframework.http.server.reactive.ServerHttpRequest;
import org.springframework.http.server.reactive.ServerHttpResponse;
import org.springframework.stereotype.Component;
import org.springframework.web.server.ServerWebExchange;
import org.springframework.web.server.WebExceptionHandler;
import reactor.core.publisher.Mono;

/**
 * The single place an error becomes an HTTP response. Ordered before Boot's own handler
 * (-1) so no route, including unknown ones and wrong methods, answers with Boot's
 * whitelabel body or a stack trace.
 */
@Component
@Order(-2)
class OpenAiErrorWebExceptionHandler implements WebExceptionHandler {

    private static final Logger log = LoggerFactory.getLogger(OpenAiErrorWebExceptionHandler.class);

    private final ObjectMapper objectMapper;

    OpenAiErrorWebExceptionHandler(ObjectMapper objectMapper) {
        this.objectMapper = objectMapper;
    }

    @Override
    public Mono<Void> handle(ServerWebExchange exchange, Throwable failure) {
        ServerHttpResponse response = exchange.getResponse();
        if (response.isCommitted()) {
            return Mono.error(failure);
        }
        String requestId = RequestId.of(exchange);
        // This handler runs outside the filter chain's Reactor context, so the MDC is set by hand.
        ApiError error;
        try (MDC.MDCCloseable ignored = MDC.putCloseable(RequestId.MDC_KEY, requestId)) {
            error = ErrorMapper.toApiError(failure, exchange.getRequest(), requestId);
            log.info("request failed: {} {} -> {} {}", exchange.getRequest().getMethod(),
                    exchange.getRequest().getPath().value(), error.status().value(), error.body().error().message());
        }
        byte[] body;
        try {
            body = objectMapper.writeValueAsBytes(error.body());
        } catch (JsonProcessingException e) {
            return Mono.error(e);
        }
        response.setStatusCode(error.status());
        response.getHeaders().putAll(error.headers());
        response.getHeaders().setContentType(MediaType.APPLICATION_JSON);
        response.getHeaders().setContentLength(body.length);
        if (!carriesBody(exchange.getRequest())) {
            return response.writeWith(Mono.just(response.bufferFactory().wrap(body)));
        }
        // An error can be answered before the request's body is read (a missing scope is
        // decided from the headers alone): swallow it first, or close when that is not possible.
        return UnreadBody.swallow(exchange.getRequest()).flatMap(kept -> {
            if (!kept) {
                response.getHeaders().setConnection("close");
            }
            return response.writeWith(Mono.just(response.bufferFactory().wrap(body)));
        });
    }

    private static boolean carriesBody(ServerHttpRequest request) {
        HttpHeaders headers = request.getHeaders();
        return headers.getContentLength() > 0 || headers.containsKey(HttpHeaders.TRANSFER_ENCODING);
    }
}
