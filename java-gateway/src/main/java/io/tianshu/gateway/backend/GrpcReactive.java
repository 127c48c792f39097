package io.tianshu.gateway.backend;

import io.grpc.stub.ClientCallStreamObserver;
import io.grpc.stub.ClientResponseObserver;
import java.util.function.Consumer;
import reactor.core.publisher.Flux;
import reactor.core.publisher.FluxSink;
import reactor.core.publisher.Mono;
import reactor.core.publisher.MonoSink;

/**
 * Adapts grpc-java async calls to Reactor. Cancelling the subscription cancels the call,
 * which is how a client that hangs up aborts the generation in the engine.
 */
public final class GrpcReactive {

    private GrpcReactive() {
    }

    public static <T> Mono<T> unary(Consumer<ClientResponseObserver<Object, T>> start) {
        return Mono.create(sink -> {
            UnaryObserver<T> observer = new UnaryObserver<>(sink);
            start.accept(observer);
            sink.onCancel(observer::cancel);
        });
    }

    public static <T> Flux<T> serverStream(Consumer<ClientResponseObserver<Object, T>> start) {
        return Flux.create(sink -> {
            StreamObserver<T> observer = new StreamObserver<>(sink);
            start.accept(observer);
            // Registered only after the call started: request() before start() is illegal.
            // Messages are pulled as the HTTP side consumes them, so a slow reader slows the
            // engine's stream through HTTP/2 flow control instead of filling the heap.
            sink.onRequest(n -> observer.call.request((int) Math.min(n, Integer.MAX_VALUE)));
            sink.onCancel(observer::cancel);
        });
    }

    private static final class UnaryObserver<T> implements ClientResponseObserver<Object, T> {
        private final MonoSink<T> sink;
        private ClientCallStreamObserver<Object> call;
        private T value;

        UnaryObserver(MonoSink<T> sink) {
            this.sink = sink;
        }

        @Override
        public void beforeStart(ClientCallStreamObserver<Object> requestStream) {
            this.call = requestStream;
        }

        void cancel() {
            call.cancel("caller cancelled", null);
        }

        @Override
        public void onNext(T next) {
            value = next;
        }

        @Override
        public void onError(Throwable t) {
            sink.error(t);
        }

        @Override
        public void onCompleted() {
            sink.success(value);
        }
    }

    private static final class StreamObserver<T> implements ClientResponseObserver<Object, T> {
        private final FluxSink<T> sink;
        private ClientCallStreamObserver<Object> call;

        StreamObserver(FluxSink<T> sink) {
            this.sink = sink;
        }

        @Override
        public void beforeStart(ClientCallStreamObserver<Object> requestStream) {
            this.call = requestStream;
            requestStream.disableAutoRequestWithInitial(0);
        }

        void cancel() {
            call.cancel("caller cancelled", null);
        }

        @Override
        public void onNext(T next) {
            sink.next(next);
        }

        @Override
        public void onError(Throwable t) {
            sink.error(t);
        }

        @Override
        public void onCompleted() {
            sink.complete();
        }
    }
}
