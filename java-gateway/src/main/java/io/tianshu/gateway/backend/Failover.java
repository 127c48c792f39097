package io.tianshu.gateway.backend;

import io.tianshu.gateway.calltrace.CallTrace;
import io.tianshu.gateway.config.TianshuProperties;
import io.tianshu.inference.v1.InferenceServiceGrpc.InferenceServiceStub;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.function.Function;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.springframework.stereotype.Component;
import reactor.core.publisher.Flux;

/**
 * Sends a call to the best instance and, while nothing has been answered, on to the next:
 * past an instance that refused it (breaker open, bulkhead full; nothing was sent), and past
 * one that was UNAVAILABLE, up to {@code tianshu.inference.failover-attempts} instances
 * called. Once a message has arrived the call is never repeated: a stream that breaks after
 * its first token ends in an error, because the caller already holds part of an answer.
 *
 * <p>Hand-written rather than resilience4j's Retry: that one re-subscribes the same call
 * with a predicate blind to whether this particular stream already delivered a message, and
 * the next attempt has to go to the next instance in load order, not the same one again.
 */
@Component
class Failover {

    private static final Logger log = LoggerFactory.getLogger(Failover.class);

    private final InferenceInstances instances;
    private final int attempts;

    Failover(InferenceInstances instances, TianshuProperties properties) {
        this.instances = instances;
        this.attempts = properties.inference().failoverAttempts();
    }

    /**
     * @param modelOf the served model in a message, for the response headers; null for calls
     *     that do not answer the request (Tokenize, ListModels) and so carry no real load
     */
    <T> Flux<T> call(Function<InferenceServiceStub, Flux<T>> call, Function<T, String> modelOf) {
        return Flux.deferContextual(context -> {
            List<InferenceInstance> order = instances.order(modelOf != null);
            if (order.isEmpty()) {
                return Flux.error(instances.noneAvailable());
            }
            CallTrace trace = modelOf == null ? null : context.getOrDefault(CallTrace.class, null);
            return new Attempts<>(order, call, modelOf, trace).from(0, attempts);
        });
    }

    private final class Attempts<T> {
        private final List<InferenceInstance> order;
        private final Function<InferenceServiceStub, Flux<T>> call;
        private final Function<T, String> modelOf;
        private final CallTrace trace;
        private final List<RuntimeException> refusals = new ArrayList<>();

        Attempts(List<InferenceInstance> order, Function<InferenceServiceStub, Flux<T>> call,
                Function<T, String> modelOf, CallTrace trace) {
            this.order = order;
            this.call = call;
            this.modelOf = modelOf;
            this.trace = trace;
        }

        Flux<T> from(int next, int callsLeft) {
            InferenceInstance instance = order.get(next);
            AtomicBoolean answered = new AtomicBoolean();
            long start = System.nanoTime();
            return instance.guard(call)
                    .doOnNext(message -> {
                        if (answered.compareAndSet(false, true) && trace != null) {
                            trace.served(instance.target(), modelOf.apply(message), start, System.nanoTime());
                        }
                    })
                    .onErrorResume(failure -> {
                        if (answered.get()) {
                            return Flux.error(failure);
                        }
                        boolean refused = Resilience.isRefusal(failure);
                        if (refused) {
                            refusals.add((RuntimeException) failure);
                        } else if (!Resilience.isWorthAnotherInstance(failure)) {
                            return Flux.error(failure);
                        }
                        int left = refused ? callsLeft : callsLeft - 1;
                        if (next + 1 < order.size() && left > 0) {
                            instances.failedOver(instance, refused ? "refused" : "unavailable");
                            log.info("inference instance {} {}; trying {}", instance.target(),
                                    refused ? "refused the call" : "unavailable", order.get(next + 1).target());
                            return from(next + 1, left);
                        }
                        return Flux.error(refused ? instances.noneAvailable(refusals) : failure);
                    });
        }
    }
}
