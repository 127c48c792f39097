package io.tianshu.gateway.backend;

import io.grpc.health.v1.HealthCheckRequest;
import io.grpc.health.v1.HealthCheckResponse;
import io.grpc.health.v1.HealthGrpc;
import java.time.Duration;
import java.util.concurrent.TimeUnit;
import java.util.function.Supplier;
import org.springframework.boot.actuate.health.Health;
import reactor.core.publisher.Mono;

/** A health component from one grpc.health.v1 Check of a backend. */
public final class GrpcHealthCheck {

    private GrpcHealthCheck() {
    }

    /**
     * UP while the backend says SERVING; otherwise, and when it cannot be asked, what
     * {@code otherwise} builds (DOWN for a backend readiness needs, UNKNOWN for one it does not),
     * with the reason. The target is a detail either way.
     */
    public static Mono<Health> check(HealthGrpc.HealthStub health, Duration deadline, String target,
            Supplier<Health.Builder> otherwise) {
        return GrpcReactive.<HealthCheckResponse>unary(observer -> health
                        .withDeadlineAfter(deadline.toNanos(), TimeUnit.NANOSECONDS)
                        .check(HealthCheckRequest.getDefaultInstance(), observer))
                .map(response -> (response.getStatus() == HealthCheckResponse.ServingStatus.SERVING
                        ? Health.up() : otherwise.get()).withDetail("serving", response.getStatus().name()))
                .onErrorResume(failure -> Mono.just(otherwise.get().withDetail("error", failure.getMessage())))
                .map(builder -> builder.withDetail("target", target).build());
    }
}
