package io.tianshu.gateway.web;

import org.springframework.core.Ordered;
import org.springframework.core.annotation.Order;
import org.springframework.core.io.buffer.DataBuffer;
import org.springframework.core.io.buffer.DataBufferUtils;
import org.springframework.http.MediaType;
import org.springframework.http.server.reactive.ServerHttpRequestDecorator;
import org.springframework.stereotype.Component;
import org.springframework.web.server.ServerWebExchange;
import org.springframework.web.server.WebFilter;
import org.springframework.web.server.WebFilterChain;
import reactor.core.publisher.Flux;
import reactor.core.publisher.Mono;
import reactor.core.scheduler.Schedulers;

/**
 * Hands a large JSON body (over {@value #LARGE_BYTES} bytes, or of unknown length) to a worker
 * thread as it arrives, so that decoding it, and whatever the route does with it before its
 * first wait, runs there instead of on the connection's event loop. An event loop serves many
 * connections in turn: a 1 MB upload of documents (about 10 ms of JSON, base64 and protobuf)
 * made every other tenant's request on the same loop wait that long, and twenty uploads at
 * once put searches 100-300 ms behind. Small bodies stay on the loop: for them a hand-over to
 * another thread costs more than the decoding.
 */
@Component
@Order(Ordered.HIGHEST_PRECEDENCE + 3)
class LargeBodyFilter implements WebFilter {

    static final long LARGE_BYTES = 256 * 1024;

    @Override
    public Mono<Void> filter(ServerWebExchange exchange, WebFilterChain chain) {
        MediaType type = exchange.getRequest().getHeaders().getContentType();
        long length = exchange.getRequest().getHeaders().getContentLength();
        if (type == null || !MediaType.APPLICATION_JSON.isCompatibleWith(type)
                || length >= 0 && length <= LARGE_BYTES) {
            return chain.filter(exchange);
        }
        ServerHttpRequestDecorator handedOver = new ServerHttpRequestDecorator(exchange.getRequest()) {
            @Override
            public Flux<DataBuffer> getBody() {
                return super.getBody().publishOn(Schedulers.boundedElastic())
                        .doOnDiscard(DataBuffer.class, DataBufferUtils::release);
            }
        };
        return chain.filter(exchange.mutate().request(handedOver).build());
    }
}
