package io.tianshu.gateway.backend;

import io.github.resilience4j.bulkhead.BulkheadConfig;
import io.github.resilience4j.bulkhead.BulkheadFullException;
import io.github.resilience4j.bulkhead.BulkheadRegistry;
import io.github.resilience4j.circuitbreaker.CircuitBreakerRegistry;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.MeterRegistry;
import io.tianshu.gateway.config.TianshuProperties;
import java.time.Duration;
import java.time.Instant;
import java.util.Comparator;
import java.util.List;
import java.util.Objects;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.ToDoubleFunction;
import org.springframework.beans.factory.DisposableBean;
import org.springframework.stereotype.Component;

/**
 * Every configured inference instance, and the order a call tries them in. Breakers and
 * bulkheads are created in resilience4j's Spring registries, which publish their state to
 * Prometheus (resilience4j_circuitbreaker_state, resilience4j_bulkhead_*); the load gauges
 * are published here, tagged with the instance's target.
 */
@Component
class InferenceInstances implements DisposableBean {

    // After a bulkhead refusal a slot frees as soon as any call in flight ends.
    private static final Duration BUSY_RETRY_AFTER = Duration.ofSeconds(1);

    private final List<InferenceInstance> all;
    private final AtomicInteger rotation = new AtomicInteger();
    private final MeterRegistry meters;

    InferenceInstances(TianshuProperties properties, ChannelFactory channels, CircuitBreakerRegistry breakers,
            BulkheadRegistry bulkheads, MeterRegistry meters) {
        this.meters = meters;
        TianshuProperties.Inference settings = properties.inference();
        BulkheadConfig bulkheadConfig = Resilience.bulkhead(settings.bulkhead());
        this.all = settings.targets().stream().map(String::trim).distinct()
                .map(target -> new InferenceInstance(target, channels.open(target),
                        Breaker.named(breakers, target, settings.breaker()), bulkheads.bulkhead(target, bulkheadConfig)))
                .toList();
        for (InferenceInstance instance : all) {
            gauge(meters, "tianshu.inference.running.requests", "generations running on the instance",
                    instance, i -> i.load().running());
            gauge(meters, "tianshu.inference.waiting.requests", "generations queued on the instance",
                    instance, i -> i.load().waiting());
            gauge(meters, "tianshu.inference.kv.cache.usage", "fraction of the instance's KV cache in use",
                    instance, i -> i.load().kvCacheUsage());
            gauge(meters, "tianshu.inference.serving", "1 when the instance's last GetLoad said it serves",
                    instance, i -> i.load().health() == InstancePicker.Health.SERVING ? 1 : 0);
        }
    }

    private static void gauge(MeterRegistry meters, String name, String description, InferenceInstance instance,
            ToDoubleFunction<InferenceInstance> value) {
        Gauge.builder(name, instance, value).description(description).tag("target", instance.target())
                .register(meters);
    }

    /**
     * Counts a call moved on from {@code from} to another instance.
     *
     * @param reason "refused" (its breaker or bulkhead said no before sending) or "unavailable"
     */
    void failedOver(InferenceInstance from, String reason) {
        meters.counter("tianshu.gateway.failovers", "from", from.target(), "reason", reason).increment();
    }

    List<InferenceInstance> all() {
        return all;
    }

    /**
     * The instances a call may go to now, best first; empty when every one would refuse.
     *
     * @param advance whether this call moves the rotation on. Only calls that generate do: a
     *     request makes a Tokenize and then a Generate, and if both advanced it, every Generate
     *     between two polls would land on the same instance of two.
     */
    List<InferenceInstance> order(boolean advance) {
        List<InstancePicker.Candidate> candidates = all.stream().map(InferenceInstance::candidate).toList();
        int turn = advance ? rotation.getAndIncrement() : rotation.get();
        return InstancePicker.order(candidates, turn).stream().map(all::get).toList();
    }

    /** Why no instance takes the call, from their current state. */
    CallRefusedException noneAvailable() {
        return noneAvailable(all.stream().map(InferenceInstance::refusal).filter(Objects::nonNull).toList());
    }

    /**
     * One refusal for the caller, from the instances' own: "busy" (429) when any instance
     * only lacked a free slot, since a retry soon can succeed; "open" (503) otherwise, to be
     * retried when the first breaker lets probes through.
     */
    CallRefusedException noneAvailable(List<RuntimeException> refusals) {
        // Empty only when an instance freed up meanwhile: then a retry at once can succeed.
        RuntimeException busy = refusals.isEmpty() ? all.get(0).busy()
                : refusals.stream().filter(BulkheadFullException.class::isInstance).findFirst().orElse(null);
        if (busy != null) {
            return new CallRefusedException(CallRefusedException.INFERENCE, busy, BUSY_RETRY_AFTER);
        }
        Instant now = Instant.now();
        Duration soonest = all.stream().map(i -> i.reopensIn(now)).filter(d -> !d.isZero())
                .min(Comparator.naturalOrder()).orElse(Duration.ZERO);
        return new CallRefusedException(CallRefusedException.INFERENCE, refusals.get(0), soonest);
    }

    @Override
    public void destroy() {
        // shutdownNow is safe at destroy time: graceful HTTP shutdown has already drained requests.
        all.forEach(instance -> instance.channel().shutdownNow());
    }
}
