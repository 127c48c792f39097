package io.tianshu.gateway.web;

import java.util.function.Consumer;
import java.util.function.Function;
import java.util.function.Supplier;
import org.springframework.http.MediaType;
import org.springframework.http.server.reactive.ServerHttpResponse;
import org.springframework.stereotype.Component;
import reactor.core.publisher.Flux;
import reactor.core.publisher.Mono;

/**
 * Answers a route that replies with one JSON body or with server-sent events, as the request's
 * {@code stream} asks (chat, legacy completions, RAG answers): the one place that choice is
 * made and either is written. Written by hand because one route answers both content types.
 */
@Component
public class Responder {

    private final JsonWriter json;
    private final SseStream sse;

    Responder(JsonWriter json, SseStream sse) {
        this.json = json;
        this.sse = sse;
    }

    /**
     * @param what names the answer in log lines, e.g. "chat completion"
     * @param events the stream's events, each one {@code data:} line; subscribed only when streaming
     * @param answer the whole answer; subscribed only when not streaming
     * @param body the JSON body of the answer
     * @param written told of the answer once its body is on its way (a log line the caller
     *     need not wait for)
     */
    public <A> Mono<Void> respond(ServerHttpResponse response, boolean streaming, String what,
            Supplier<Flux<?>> events, Supplier<Mono<A>> answer, Function<A, ?> body, Consumer<A> written) {
        if (streaming) {
            return sse.write(response, events.get(), what);
        }
        return answer.get().flatMap(whole -> json.write(response, MediaType.APPLICATION_JSON, body.apply(whole))
                .doOnSuccess(done -> written.accept(whole)));
    }
}
