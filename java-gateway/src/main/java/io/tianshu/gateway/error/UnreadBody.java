package io.tianshu.gateway.error;

import java.time.Duration;
import java.util.concurrent.atomic.AtomicLong;
import org.springframework.core.io.buffer.DataBufferUtils;
import org.springframework.http.HttpHeaders;
import org.springframework.http.server.reactive.ServerHttpRequest;
import reactor.core.publisher.Mono;

/**
 * Reads and discards what is left of a request body before an early answer (an error decided
 * from the headers alone) is written. Answering and then closing on unread bytes makes the
 * kernel reset the connection, and a reset can destroy the answer at the client before it is
 * read; leaving the bytes unread on a kept connection puts them in front of the next request.
 * So, like Tomcat's {@code maxSwallowSize}, up to a bound the body is swallowed and the
 * connection kept; past the bound, or when the body cannot be read here, the caller closes.
 */
final class UnreadBody {

    /** Tomcat's default: enough for any body a refused JSON or upload call plausibly sends. */
    static final long SWALLOW_LIMIT_BYTES = 2 * 1024 * 1024;

    /** A client that stalls mid-body gets its answer and a closed connection after this. */
    static final Duration SWALLOW_TIMEOUT = Duration.ofSeconds(5);

    private UnreadBody() {
    }

    /**
     * Completes with true when the rest of the request body has been read to its end here, so
     * the connection can serve the next request; false when the caller must close it (a body
     * too big, refused, stalled, or already taken by the handler that failed).
     */
    static Mono<Boolean> swallow(ServerHttpRequest request) {
        HttpHeaders headers = request.getHeaders();
        long declared = headers.getContentLength();
        if (declared > SWALLOW_LIMIT_BYTES) {
            return Mono.just(false);
        }
        if (headers.getFirst(HttpHeaders.EXPECT) != null) {
            // Reading would send "100 Continue" and invite the very upload being refused.
            return Mono.just(false);
        }
        AtomicLong read = new AtomicLong();
        return request.getBody()
                .takeWhile(buffer -> {
                    long total = read.addAndGet(buffer.readableByteCount());
                    DataBufferUtils.release(buffer);
                    return total <= SWALLOW_LIMIT_BYTES;
                })
                .then(Mono.fromSupplier(() -> read.get() <= SWALLOW_LIMIT_BYTES))
                .timeout(SWALLOW_TIMEOUT, Mono.just(false))
                // Reactor Netty refuses a second reader of a body the failed handler took.
                .onErrorReturn(false);
    }
}
