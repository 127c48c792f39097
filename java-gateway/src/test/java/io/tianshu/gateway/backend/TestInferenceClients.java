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
        return properties(targets, breaker(breakerWindow, Duration.ofSeconds(30)), maxConcurrentCalls,
                Deadlines.GENEROUS);
    }

    /** The deadline of each kind of call. */
    record Deadlines(Duration unary, Duration stream, Duration listModels, Duration tokenize, Duration getLoad) {

        /** Long enough never to cut a test's call short. */
        static final Deadlines GENEROUS = new Deadlines(Duration.ofSeconds(30), Duration.ofSeconds(30),
                Duration.ofSeconds(30), Duration.ofSeconds(30), Duration.ofSeconds(1));
    }

    static TianshuProperties properties(List<String> targets, TianshuProperties.Breaker breaker,
            int maxConcurrentCalls, Deadlines deadlines) {
        return new TianshuProperties(new TianshuProperties.Inference(targets, deadlines.unary(), deadlines.stream(),
                deadlines.listModels(), deadlines.tokenize(), Duration.ofSeconds(30),
                new TianshuProperties.LoadPoll(Duration.ofHours(1), deadlines.getLoad()), breaker,
                new TianshuProperties.Bulkhead(maxConcurrentCalls), 2,
                TianshuProperties.PromptCounting.GATEWAY), null, null, null, null, null, null, null, null);
    }

    /**
     * A breaker judging every full window of {@code window} calls: open at half of them failed,
     * or all of them slower than {@code slowCall}; open for a minute, one probe to close.
     */
    static TianshuProperties.Breaker breaker(int window, Duration slowCall) {
        return new TianshuProperties.Breaker(50, 100, slowCall, window, window, Duration.ofMinutes(1), 1);
    }

    static InferenceInstances instances(TianshuProperties properties, ChannelFactory channels) {
        return instances(properties, channels, new SimpleMeterRegistry());
    }

    static InferenceInstances instances(TianshuProperties properties, ChannelFactory channels, MeterRegistry meters) {
        return new InferenceInstances(properties, channels, CircuitBreakerRegistry.ofDefaults(),
                BulkheadRegistry.ofDefaults(), meters);
    }
}
