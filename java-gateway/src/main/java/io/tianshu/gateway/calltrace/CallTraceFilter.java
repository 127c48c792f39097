package io.tianshu.gateway.calltrace;

import org.springframework.core.Ordered;
import org.springframework.core.annotation.Order;
import org.springframework.stereotype.Component;
import org.springframework.web.server.ServerWebExchange;
import org.springframework.web.server.WebFilter;
import org.springframework.web.server.WebFilterChain;
import reactor.core.publisher.Mono;

/**
 * Adds X-Tianshu-Instance, X-Tianshu-Model and X-Tianshu-Gateway-Ms to responses that a
 * Generate, GenerateStream or Embed call answered. Runs right after the request id filter so
 * its clock includes authentication and admission.
 */
@Component
@Order(Ordered.HIGHEST_PRECEDENCE + 1)
class CallTraceFilter implements WebFilter {

    @Override
    public Mono<Void> filter(ServerWebExchange exchange, WebFilterChain chain) {
        CallTrace trace = new CallTrace(System.nanoTime());
        exchange.getResponse().beforeCommit(() -> Mono.fromRunnable(
                () -> trace.writeTo(exchange.getResponse().getHeaders(), System.nanoTime())));
        return chain.filter(exchange).contextWrite(context -> context.put(CallTrace.class, trace));
    }
}
