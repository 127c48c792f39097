package io.tianshu.gateway.web;

import io.tianshu.gateway.error.ApiException;
import java.nio.charset.Charset;
import java.nio.charset.StandardCharsets;
import java.util.concurrent.atomic.AtomicReference;
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

/**
 * 400 naming the byte for a JSON body that is not UTF-8, which JSON must be (RFC 8259 8.1).
 * Checked as the body streams in, before Jackson parses it: Jackson reports most broken bytes
 * but silently reads some (overlong forms), and a body would then reach a model as other
 * characters than the caller sent. A body that declares another charset is left to the JSON
 * decoder, which transcodes it.
 */
@Component
@Order(Ordered.HIGHEST_PRECEDENCE + 2)
class Utf8BodyFilter implements WebFilter {

    @Override
    public Mono<Void> filter(ServerWebExchange exchange, WebFilterChain chain) {
        MediaType type = exchange.getRequest().getHeaders().getContentType();
        if (type == null || !isJson(type) || !isUtf8(type.getCharset())) {
            return chain.filter(exchange);
        }
        ServerHttpRequestDecorator checked = new ServerHttpRequestDecorator(exchange.getRequest()) {
            @Override
            public Flux<DataBuffer> getBody() {
                Utf8Check check = new Utf8Check();
                AtomicReference<ApiException> failure = new AtomicReference<>();
                // After a bad byte the rest of the body is still read, and dropped: a body read
                // to its end leaves the connection fit for the caller's next request.
                return super.getBody().<DataBuffer>handle((buffer, sink) -> {
                    if (failure.get() == null) {
                        long bad = feed(check, buffer);
                        if (bad < 0) {
                            sink.next(buffer);
                            return;
                        }
                        failure.set(notUtf8(String.format("byte 0x%02X at offset %d", check.culprit(), bad)));
                    }
                    DataBufferUtils.release(buffer);
                }).concatWith(Mono.defer(() -> failure.get() != null ? Mono.error(failure.get())
                        : check.complete() ? Mono.empty()
                        : Mono.error(notUtf8("it ends in the middle of a character"))));
            }
        };
        return chain.filter(exchange.mutate().request(checked).build());
    }

    private static boolean isJson(MediaType type) {
        return MediaType.APPLICATION_JSON.isCompatibleWith(type) || "json".equals(type.getSubtypeSuffix());
    }

    private static boolean isUtf8(Charset charset) {
        return charset == null || StandardCharsets.UTF_8.equals(charset);
    }

    /** Feeds the whole buffer; the offset of the first bad byte in the body, or -1. */
    private static long feed(Utf8Check check, DataBuffer buffer) {
        long bad = -1;
        try (DataBuffer.ByteBufferIterator pieces = buffer.readableByteBuffers()) {
            while (bad < 0 && pieces.hasNext()) {
                bad = check.feed(pieces.next());
            }
        }
        return bad;
    }

    private static ApiException notUtf8(String where) {
        return ApiException.invalidRequest("The request body is not valid UTF-8 (" + where
                + "); send JSON encoded as UTF-8.", null);
    }
}
