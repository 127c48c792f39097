package io.tianshu.gateway.web;

import static org.assertj.core.api.Assertions.assertThat;

import java.time.Duration;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.springframework.core.io.buffer.DataBuffer;
import org.springframework.core.io.buffer.DataBufferUtils;
import org.springframework.core.io.buffer.DefaultDataBufferFactory;
import org.springframework.http.MediaType;
import org.springframework.mock.http.server.reactive.MockServerHttpRequest;
import org.springframework.mock.web.server.MockServerWebExchange;
import reactor.core.publisher.Flux;
import reactor.core.scheduler.Scheduler;
import reactor.core.scheduler.Schedulers;

/**
 * Where a route reads its body: a large JSON body on a worker thread, anything else on the
 * thread that received it (a connection's event loop in the server, one named "event-loop" here).
 */
class LargeBodyFilterTest {

    private final ExecutorService loop = Executors.newSingleThreadExecutor(task -> new Thread(task, "event-loop"));
    private final Scheduler onLoop = Schedulers.fromExecutorService(loop);
    private final LargeBodyFilter filter = new LargeBodyFilter();

    @AfterEach
    void stop() {
        onLoop.dispose();
    }

    @Test
    void aLargeJsonBodyIsReadOnAWorkerThread() {
        int size = (int) LargeBodyFilter.LARGE_BYTES + 1;
        assertThat(threadReading(MediaType.APPLICATION_JSON, size, true)).startsWith("boundedElastic");
    }

    @Test
    void aJsonBodyOfUnknownLengthIsReadOnAWorkerThread() {
        assertThat(threadReading(MediaType.APPLICATION_JSON, 100, false)).startsWith("boundedElastic");
    }

    @Test
    void aSmallJsonBodyIsReadWhereItArrived() {
        assertThat(threadReading(MediaType.APPLICATION_JSON, (int) LargeBodyFilter.LARGE_BYTES, true))
                .isEqualTo("event-loop");
    }

    @Test
    void aLargeBodyOfAnotherTypeIsReadWhereItArrived() {
        assertThat(threadReading(MediaType.MULTIPART_FORM_DATA, 2 * (int) LargeBodyFilter.LARGE_BYTES, true))
                .isEqualTo("event-loop");
    }

    /** The thread the last piece of the body reached the route on: where a decoder would decode it. */
    private String threadReading(MediaType type, int size, boolean declared) {
        Flux<DataBuffer> body = Flux.range(0, 4)
                .map(i -> DefaultDataBufferFactory.sharedInstance.wrap(new byte[size / 4 + (i < size % 4 ? 1 : 0)]))
                .cast(DataBuffer.class)
                .subscribeOn(onLoop);
        MockServerHttpRequest.BodyBuilder request = MockServerHttpRequest.post("/v1/rag/collections/c/documents")
                .contentType(type);
        if (declared) {
            request.contentLength(size);
        }
        MockServerWebExchange exchange = MockServerWebExchange.from(request.body(body));
        AtomicReference<String> reader = new AtomicReference<>();
        filter.filter(exchange, handled -> handled.getRequest().getBody()
                        .doOnNext(buffer -> {
                            reader.set(Thread.currentThread().getName());
                            DataBufferUtils.release(buffer);
                        })
                        .then())
                .block(Duration.ofSeconds(10));
        return reader.get();
    }
}
