package io.tianshu.gateway.web;

import io.tianshu.gateway.error.ErrorMapper;
import io.tianshu.gateway.requestid.RequestId;
import java.nio.charset.StandardCharsets;
import java.util.concurrent.atomic.AtomicBoolean;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.springframework.core.io.buffer.DataBuffer;
import org.springframework.http.MediaType;
import org.springframework.http.server.reactive.ServerHttpResponse;
import org.springframework.stereotype.Component;
import reactor.core.publisher.Flux;
import reactor.core.publisher.Mono;

/**
 * Writes chunks as OpenAI's server-sent events: {@code data: {chunk}} per chunk, flushed one
 * by one, then {@code data: [DONE]}. Shared by every streaming route.
 */
@Component
public class SseStream {

    private static final Logger log = LoggerFactory.getLogger(SseStream.class);
    private static final MediaType EVENT_STREAM = new MediaType("text", "event-stream", StandardCharsets.UTF_8);

    private final JsonWriter json;

    SseStream(JsonWriter json) {
        this.json = json;
    }

    /** @param what names the stream in log lines, e.g. "chat completion" */
    public Mono<Void> write(ServerHttpResponse response, Flux<?> chunks, String what) {
        response.getHeaders().setContentType(EVENT_STREAM);
        response.getHeaders().setCacheControl("no-cache");
        // Proxies such as nginx would otherwise buffer the stream and defeat its purpose.
        response.getHeaders().set("X-Accel-Buffering", "no");
        AtomicBoolean started = new AtomicBoolean();
        Flux<String> data = chunks
                .map(json::toJson)
                .concatWith(Mono.just("[DONE]"))
                .doOnNext(event -> started.set(true))
                .doOnComplete(() -> log.info("{} stream done", what))
                .doOnCancel(() -> log.info("client went away; backend call cancelled"))
                // Before the first event nothing is committed: the error handler can still
                // answer with a real status (429, 503, ...). After it, the only channel left
                // is the stream itself, and a silent end would look like a complete answer.
                // The mapper logs what failed; this line says where, as the error handler's does.
                .onErrorResume(failure -> started.get()
                        ? Mono.fromSupplier(() -> ErrorMapper.toApiError(failure, null,
                                        response.getHeaders().getFirst(RequestId.HEADER)))
                                .doOnNext(error -> log.info("{} stream failed after its first event: {} {}", what,
                                        error.status().value(), error.body().error().message()))
                                .map(error -> json.toJson(error.body()))
                        : Mono.error(failure));
        Flux<DataBuffer> buffers = data.map(event ->
                response.bufferFactory().wrap(("data: " + event + "\n\n").getBytes(StandardCharsets.UTF_8)));
        // Events are written from the connection's own event loop, and with writeWith rather
        // than writeAndFlushWith. The backend's messages arrive on gRPC's threads, where each
        // write and flush would be a task handed over to the event loop; and Reactor Netty
        // flushes whenever the events already waiting are written, so the events one backend
        // message makes (a stream's opening and its first delta) leave together, each later
        // one the moment it comes. Measured on 8-token tool steps, 60 of each way in turn: the
        // same time to the first token, 3 ms less to the stream's end.
        return response.writeWith(ConnectionEventLoop.of(response).map(buffers::publishOn).orElse(buffers));
    }
}
