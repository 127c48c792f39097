package io.tianshu.gateway.web;

import io.tianshu.gateway.config.TianshuProperties;
import io.tianshu.gateway.error.ApiException;
import java.util.concurrent.atomic.AtomicLong;
import org.springframework.core.Ordered;
import org.springframework.core.annotation.Order;
import org.springframework.core.io.buffer.DataBuffer;
import org.springframework.http.server.reactive.ServerHttpRequestDecorator;
import org.springframework.stereotype.Component;
import org.springframework.web.server.ServerWebExchange;
import org.springframework.web.server.WebFilter;
import org.springframework.web.server.WebFilterChain;
import reactor.core.publisher.Flux;
import reactor.core.publisher.Mono;

/**
 * 413 for bodies over {@code tianshu.http.max-body-bytes}: at once when Content-Length says so,
 * otherwise (chunked uploads) as soon as the bytes read pass the limit. Runs right after the
 * request-id filter, before authentication, so an oversized body is never buffered.
 */
@Component
@Order(Ordered.HIGHEST_PRECEDENCE + 1)
class BodySizeFilter implements WebFilter {

    private final long limit;

    BodySizeFilter(TianshuProperties properties) {
        this.limit = properties.http().maxBodyBytes().toBytes();
    }

    @Override
    public Mono<Void> filter(ServerWebExchange exchange, WebFilterChain chain) {
        long declared = exchange.getRequest().getHeaders().getContentLength();
        if (declared > limit) {
            return Mono.error(ApiException.bodyTooLarge(limit));
        }
        AtomicLong read = new AtomicLong();
        ServerHttpRequestDecorator counted = new ServerHttpRequestDecorator(exchange.getRequest()) {
            @Override
            public Flux<DataBuffer> getBody() {
                return super.getBody().doOnNext(buffer -> {
                    if (read.addAndGet(buffer.readableByteCount()) > limit) {
                        throw ApiException.bodyTooLarge(limit);
                    }
                });
            }
        };
        return chain.filter(exchange.mutate().request(counted).build());
    }
}
