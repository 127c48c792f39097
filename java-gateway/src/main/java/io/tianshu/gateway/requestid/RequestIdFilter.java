package io.tianshu.gateway.requestid;

import org.springframework.core.Ordered;
import org.springframework.core.annotation.Order;
import org.springframework.stereotype.Component;
import org.springframework.web.server.ServerWebExchange;
import org.springframework.web.server.WebFilter;
import org.springframework.web.server.WebFilterChain;
import reactor.core.publisher.Mono;

/**
 * Runs first so that every response, including security rejections and errors, carries
 * the id, and every log line of the request has it in its MDC.
 */
@Component
@Order(Ordered.HIGHEST_PRECEDENCE)
class RequestIdFilter implements WebFilter {

    @Override
    public Mono<Void> filter(ServerWebExchange exchange, WebFilterChain chain) {
        String id = RequestId.accept(exchange.getRequest().getHeaders().getFirst(RequestId.HEADER));
        exchange.getAttributes().put(RequestId.ATTRIBUTE, id);
        exchange.getResponse().getHeaders().set(RequestId.HEADER, id);
        // Reactor's automatic context propagation turns this entry into the MDC value on
        // whichever thread runs the request's operators (see RequestIdMdcAccessor).
        return chain.filter(exchange).contextWrite(context -> context.put(RequestId.MDC_KEY, id));
    }
}
