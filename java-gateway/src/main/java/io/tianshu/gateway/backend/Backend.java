package io.tianshu.gateway.backend;

import io.github.resilience4j.circuitbreaker.CallNotPermittedException;
import io.grpc.stub.AbstractStub;
import io.grpc.stub.StreamObserver;
import io.tianshu.gateway.calltrace.CallTrace;
import java.time.Duration;
import java.time.Instant;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.function.BiConsumer;
import reactor.core.publisher.Flux;
import reactor.core.publisher.Mono;

/**
 * Calls to one single-address backend (the RAG service, the batch service), made by
 * {@link BackendCalls#backend}: each with its deadline, the request id and the trace context,
 * through the backend's breaker. An open breaker answers {@link CallRefusedException} at
 * once (503 {@code circuit_open} with Retry-After), so an outage does not make every caller
 * wait out its own deadline.
 */
public final class Backend<S extends AbstractStub<S>> {

    private final String service;
    private final S stub;
    private final Breaker breaker;
    private final BackendCalls calls;

    Backend(String service, S stub, Breaker breaker, BackendCalls calls) {
        this.service = service;
        this.stub = stub;
        this.breaker = breaker;
        this.calls = calls;
    }

    public <T> Mono<T> unary(String requestId, Duration deadline, BiConsumer<S, StreamObserver<T>> rpc) {
        return guarded(GrpcReactive.<T>unary(observer -> rpc.accept(calls.forCall(stub, requestId, deadline),
                observer)).flux()).singleOrEmpty();
    }

    public <T> Flux<T> serverStream(String requestId, Duration deadline, BiConsumer<S, StreamObserver<T>> rpc) {
        return guarded(GrpcReactive.serverStream(observer -> rpc.accept(calls.forCall(stub, requestId, deadline),
                observer)));
    }

    /**
     * Around the breaker: for a background reader retrying on its own schedule, which must not
     * open the breaker that answers callers (nor be refused by it while the callers' calls fail).
     */
    public <T> Mono<T> unaryAroundBreaker(String requestId, Duration deadline,
            BiConsumer<S, StreamObserver<T>> rpc) {
        return GrpcReactive.unary(observer -> rpc.accept(calls.forCall(stub, requestId, deadline), observer));
    }

    private <T> Flux<T> guarded(Flux<T> call) {
        return Flux.deferContextual(context -> {
            CallTrace trace = context.getOrDefault(CallTrace.class, null);
            long start = System.nanoTime();
            AtomicBoolean answered = new AtomicBoolean();
            // The request's Server-Timing then shows this backend's time to its first message
            // beside the gateway's own, as it does for the inference service.
            return breaker.guard(() -> call)
                    .doOnNext(message -> {
                        if (trace != null && answered.compareAndSet(false, true)) {
                            trace.served(service, "", start, System.nanoTime());
                        }
                    })
                    .onErrorMap(CallNotPermittedException.class,
                            open -> new CallRefusedException(service, open, breaker.reopensIn(Instant.now())));
        });
    }
}
