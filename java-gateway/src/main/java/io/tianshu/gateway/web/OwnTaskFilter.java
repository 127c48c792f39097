package io.tianshu.gateway.web;

import org.springframework.core.Ordered;
import org.springframework.core.annotation.Order;
import org.springframework.http.server.reactive.ServerHttpRequestDecorator;
import org.springframework.stereotype.Component;
import org.springframework.web.server.ServerWebExchange;
import org.springframework.web.server.WebFilter;
import org.springframework.web.server.WebFilterChain;
import reactor.core.publisher.Mono;
import reactor.core.scheduler.Schedulers;
import reactor.netty.Connection;

/**
 * Starts handling each request in a task of its own on its connection's event loop, instead of
 * inside the read that delivered it.
 *
 * <p>Works around a Reactor Netty 1.2.18 bug (reactor/reactor-netty#4361, fixed after that
 * release; 1.2.18 is the newest 1.2.x Spring Boot 3.5 can use here): when a keep-alive request
 * arrives before the previous one's handling has wound down, it is queued with its end-of-body
 * marker; if the queued request is then answered within the same read (a health probe, the
 * cached model list, an authentication error), the connection is never read again and the
 * client's next request hangs. Answered from a task of its own, the request cannot finish
 * inside that read. The task runs right after the read on the same thread: no thread hand-off.
 * Remove once the Reactor Netty in use has the fix ({@code KeepAliveTest} shows it).
 */
@Component
@Order(Ordered.HIGHEST_PRECEDENCE)
class OwnTaskFilter implements WebFilter {

    @Override
    public Mono<Void> filter(ServerWebExchange exchange, WebFilterChain chain) {
        Object nativeRequest = ServerHttpRequestDecorator.getNativeRequest(exchange.getRequest());
        if (!(nativeRequest instanceof Connection connection)) {
            return chain.filter(exchange);
        }
        return Mono.defer(() -> chain.filter(exchange))
                .subscribeOn(Schedulers.fromExecutor(connection.channel().eventLoop()));
    }
}
