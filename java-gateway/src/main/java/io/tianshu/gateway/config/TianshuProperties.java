package io.tianshu.gateway.config;

import jakarta.validation.Valid;
import jakarta.validation.constraints.NotBlank;
import jakarta.validation.constraints.NotNull;
import java.time.Duration;
import org.springframework.boot.context.properties.ConfigurationProperties;
import org.springframework.validation.annotation.Validated;

/**
 * Every setting of the gateway. application.yml maps each one to an environment variable
 * with its default; nothing else in the code reads the environment. Validated at start-up
 * so a bad value stops the process instead of failing the first request.
 */
@Validated
@ConfigurationProperties(prefix = "tianshu")
public record TianshuProperties(@Valid @NotNull Inference inference) {

    /**
     * The inference service.
     *
     * @param target gRPC target (host:port or any grpc-java target URI), plaintext
     * @param deadline deadline of one non-streaming Generate call
     * @param streamDeadline deadline of one GenerateStream call; longer, since a stream
     *     lives as long as the answer takes to produce
     * @param listModelsDeadline deadline of ListModels and of health checks: short, because
     *     a request waits on them before its real work starts
     * @param modelsRefresh how long a ListModels answer is trusted before it is fetched again
     */
    public record Inference(
            @NotBlank String target,
            @NotNull Duration deadline,
            @NotNull Duration streamDeadline,
            @NotNull Duration listModelsDeadline,
            @NotNull Duration modelsRefresh) {
    }
}
