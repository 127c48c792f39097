package io.tianshu.gateway.web;

import io.tianshu.gateway.config.TianshuProperties;
import io.tianshu.gateway.error.ApiException;
import java.util.concurrent.atomic.AtomicLong;
import org.springframework.core.Ordered;
import org.springframework.core.annotation.Order;
import org.springframework.core.io.buffer.DataBuffer;
import org.springframework.http.HttpMethod;
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
 * request-id filter, before authentication, so an oversized body is never buffered. File
 * uploads ({@code POST /v1/files}) have their own, larger limit, {@code tianshu.files.max-bytes}
 * plus room for the multipart framing; the file part itself is held to the exact limit where
 * it is stored.
 */
@Component
@Order(Ordered.HIGHEST_PRECEDENCE + 1)
class BodySizeFilter implements WebFilter {

    // Part headers, the purpose field and boundaries: a few hundred bytes in practice.
    private static final long MULTIPART_FRAMING_BYTES = 64 * 1024;

    private final long bodyLimit;
    private final long uploadLimit;

    BodySizeFilter(TianshuProperties properties) {
        this.bodyLimit = properties.http().maxBodyBytes().toBytes();
        this.uploadLimit = properties.files().maxBytes().toBytes() + MULTIPART_FRAMING_BYTES;
    }

    @Override
    public Mono<Void> filter(ServerWebExchange exchange, WebFilterChain chain) {
        boolean upload = exchange.getRequest().getMethod() == HttpMethod.POST
                && "/v1/files".equals(exchange.getRequest().getPath().value());
        long limit = upload ? uploadLimit : bodyLimit;
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
