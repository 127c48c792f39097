package io.tianshu.gateway.backend;

import io.grpc.ManagedChannel;
import io.grpc.health.v1.HealthCheckRequest;
import io.grpc.health.v1.HealthCheckResponse;
import io.grpc.health.v1.HealthGrpc;
import io.tianshu.gateway.config.TianshuProperties;
import java.time.Duration;
import java.util.concurrent.TimeUnit;
import org.springframework.boot.actuate.health.Health;
import org.springframework.boot.actuate.health.ReactiveHealthIndicator;
import org.springframework.stereotype.Component;
import reactor.core.publisher.Mono;

/**
 * Reports the inference service's grpc.health.v1 status as the "inference" health component.
 * Deliberately not part of the liveness or readiness groups: a restart or an unrouted
 * gateway would not bring the backend back, and the gateway answers 503 quickly by itself.
 */
@Component("inference")
class InferenceHealthIndicator implements ReactiveHealthIndicator {

    private final HealthGrpc.HealthStub health;
    private final Duration deadline;

    InferenceHealthIndicator(ManagedChannel inferenceChannel, TianshuProperties properties) {
        this.health = HealthGrpc.newStub(inferenceChannel);
        this.deadline = properties.inference().listModelsDeadline();
    }

    @Override
    public Mono<Health> health() {
        // Service "" asks about the server as a whole, which every grpc.health.v1 server answers.
        HealthCheckRequest request = HealthCheckRequest.newBuilder().setService("").build();
        return GrpcReactive.<HealthCheckResponse>unary(observer ->
                        health.withDeadlineAfter(deadline.toNanos(), TimeUnit.NANOSECONDS).check(request, observer))
                .map(response -> response.getStatus() == HealthCheckResponse.ServingStatus.SERVING
                        ? Health.up().build()
                        : Health.down().withDetail("status", response.getStatus().name()).build())
                .onErrorResume(e -> Mono.just(Health.down().withDetail("error", e.getMessage()).build()));
    }
}
