package io.tianshu.gateway.batches;

import io.grpc.health.v1.HealthGrpc;
import io.tianshu.gateway.backend.GrpcHealthCheck;
import io.tianshu.gateway.config.TianshuProperties;
import org.springframework.boot.actuate.health.Health;
import org.springframework.boot.actuate.health.ReactiveHealthIndicator;
import org.springframework.stereotype.Component;
import reactor.core.publisher.Mono;

/**
 * The "batch" health component: one grpc.health.v1 Check of the batch service. Part of
 * readiness: a gateway configured for batches that cannot reach the service would fail every
 * /v1/batches call. Not configured: UNKNOWN, which leaves readiness to the other components.
 */
@Component("batch")
class JobsHealthIndicator implements ReactiveHealthIndicator {

    private final HealthGrpc.HealthStub health;
    private final TianshuProperties.Batch settings;

    JobsHealthIndicator(JobsChannel channel, TianshuProperties properties) {
        this.health = channel.configured() ? HealthGrpc.newStub(channel.channel()) : null;
        this.settings = properties.batch();
    }

    @Override
    public Mono<Health> health() {
        if (health == null) {
            return Mono.just(Health.unknown().withDetail("target", "none (tianshu.batch.target is empty)").build());
        }
        return GrpcHealthCheck.check(health, settings.healthDeadline(), settings.target(), Health::down);
    }
}
