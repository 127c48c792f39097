package io.tianshu.gateway.backend;

import io.github.resilience4j.bulkhead.BulkheadRegistry;
import io.github.resilience4j.circuitbreaker.CircuitBreakerRegistry;
import io.grpc.ManagedChannel;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import io.tianshu.gateway.config.TianshuProperties;
import java.time.Duration;
import java.util.List;

/** Builds an {@link InferenceClient} outside Spring, for unit tests in other packages. */
public final class TestInferenceClients {

    private TestInferenceClients() {
    }

    public static InferenceClient over(ManagedChannel channel) {
        TianshuProperties properties = properties(List.of("in-process"), 4, 1000);
        return new InferenceClient(new Failover(instances(properties, target -> channel), properties), properties);
    }

    /** Settings as in application.yml, but a small breaker window and the given bulkhead. */
    static TianshuProperties properties(List<String> targets, int breakerWindow, int maxConcurrentCalls) {
        Duration thirtySeconds = Duration.ofSeconds(30);
        return new TianshuProperties(new TianshuProperties.Inference(targets, thirtySeconds, thirtySeconds,
                thirtySeconds, thirtySeconds, thirtySeconds,
                new TianshuProperties.LoadPoll(Duration.ofHours(1), Duration.ofSeconds(1)),
                new TianshuProperties.Breaker(50, 100, thirtySeconds, breakerWindow, breakerWindow,
                        Duration.ofMinutes(1), 1),
                new TianshuProperties.Bulkhead(maxConcurrentCalls), 2,
                TianshuProperties.PromptCounting.GATEWAY), null, null, null, null, null, null, null);
    }

    static InferenceInstances instances(TianshuProperties properties, ChannelFactory channels) {
        return instances(properties, channels, new SimpleMeterRegistry());
    }

    static InferenceInstances instances(TianshuProperties properties, ChannelFactory channels, MeterRegistry meters) {
        return new InferenceInstances(properties, channels, CircuitBreakerRegistry.ofDefaults(),
                BulkheadRegistry.ofDefaults(), meters);
    }
}
