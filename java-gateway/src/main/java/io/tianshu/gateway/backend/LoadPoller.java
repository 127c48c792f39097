package io.tianshu.gateway.backend;

import io.tianshu.gateway.config.TianshuProperties;
import io.tianshu.gateway.lifecycle.PeriodicRounds;
import io.tianshu.inference.v1.GetLoadRequest;
import io.tianshu.inference.v1.GetLoadResponse;
import java.time.Duration;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.springframework.stereotype.Component;
import reactor.core.publisher.Flux;
import reactor.core.publisher.Mono;

/**
 * Asks every instance for its load (GetLoad) every {@code tianshu.inference.load-poll.interval}
 * and keeps the answer on the instance, for routing, readiness and the load gauges. The first
 * round runs before the gateway starts serving, so readiness and routing never start blind.
 */
@Component
class LoadPoller extends PeriodicRounds {

    private static final Logger log = LoggerFactory.getLogger(LoadPoller.class);

    private final InferenceInstances instances;
    private final Duration interval;
    private final Duration deadline;

    LoadPoller(InferenceInstances instances, TianshuProperties properties) {
        this.instances = instances;
        this.interval = properties.inference().loadPoll().interval();
        this.deadline = properties.inference().loadPoll().deadline();
    }

    @Override
    protected Duration interval() {
        return interval;
    }

    @Override
    protected void beforeFirstRound() {
        pollAll().block();
    }

    @Override
    protected Mono<Void> round() {
        return pollAll();
    }

    /** One round over every instance, in parallel; completes when all answered or timed out. */
    Mono<Void> pollAll() {
        return Flux.fromIterable(instances.all()).flatMap(this::poll).then();
    }

    private Mono<Void> poll(InferenceInstance instance) {
        return GrpcReactive.<GetLoadResponse>unary(observer -> instance.stub()
                        .withDeadlineAfter(deadline.toNanos(), TimeUnit.NANOSECONDS)
                        .getLoad(GetLoadRequest.getDefaultInstance(), observer))
                .map(InferenceInstance.Load::of)
                .onErrorResume(failure -> Mono.just(InferenceInstance.Load.unreachable(failure)))
                .doOnNext(load -> {
                    InstancePicker.Health before = instance.load().health();
                    if (before != load.health()) {
                        log.info("inference instance {}: {} -> {}{}", instance.target(), before, load.health(),
                                load.error() == null ? "" : " (" + load.error() + ")");
                    }
                    instance.polled(load);
                })
                .then();
    }
}
