package io.tianshu.gateway.lifecycle;

import java.time.Duration;
import org.springframework.context.SmartLifecycle;
import reactor.core.Disposable;
import reactor.core.publisher.Flux;
import reactor.core.publisher.Mono;

/**
 * Background work done in rounds, one every interval, while the application runs. A round
 * that outlasts the interval makes the next tick drop, never overlap: rounds of one component
 * never run at once.
 */
public abstract class PeriodicRounds implements SmartLifecycle {

    private volatile Disposable running;

    protected abstract Duration interval();

    /** One round; it should not fail (a failure ends the rounds). */
    protected abstract Mono<?> round();

    /** Whether the component runs at all with its settings. */
    protected boolean enabled() {
        return true;
    }

    /** Runs once, blocking, before start() returns and the rounds begin. */
    protected void beforeFirstRound() {
    }

    @Override
    public void start() {
        if (!enabled()) {
            return;
        }
        beforeFirstRound();
        running = Flux.interval(interval(), interval()).onBackpressureDrop().concatMap(tick -> round(), 1)
                .subscribe();
    }

    @Override
    public void stop() {
        Disposable rounds = running;
        if (rounds != null) {
            rounds.dispose();
        }
        running = null;
    }

    @Override
    public boolean isRunning() {
        return running != null;
    }
}
