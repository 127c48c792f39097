package io.tianshu.gateway.backend;

import io.grpc.ManagedChannel;
import io.tianshu.gateway.config.TianshuProperties;
import java.time.Duration;

/** Builds an {@link InferenceClient} outside Spring, for unit tests in other packages. */
public final class TestInferenceClients {

    private TestInferenceClients() {
    }

    public static InferenceClient over(ManagedChannel channel) {
        return new InferenceClient(channel, new TianshuProperties(new TianshuProperties.Inference(
                "in-process", Duration.ofSeconds(30), Duration.ofSeconds(30), Duration.ofSeconds(30),
                Duration.ofSeconds(30), Duration.ofSeconds(30)), null, null, null));
    }
}
