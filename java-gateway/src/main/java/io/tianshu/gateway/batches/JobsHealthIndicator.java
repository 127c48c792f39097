package io.tianshu.gateway.batches;

import io.grpc.health.v1.HealthGrpc;
import io.tianshu.gateway.backend.GrpcHealthCheck;
import io.tianshu.gateway.config.TianshuProperties;
import org.springframework.boot.actuate.health.Health;
import org.springframework.boot.actuate.health.ReactiveHealthIndicator;
import org.springframework.stereotype.Component;
import reactor.core.publisher.Mono;

/**
 * The "batch" health component: one grpc.health.v1 Check of the batch service. UP while it
 * serves; otherwise UNKNOWN with the reason, not DOWN, and in neither probe group (as the
 * "rag" component): chat and embeddings do not need the batch service, so its outage must
 * not take the gateway out of rotation. Only /v1/files and /v1/batches calls fail (503)
 * meanwhile. Not configured: UNKNOWN.
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
        return GrpcHealthCheck.check(health, settings.healthDeadline(), settings.target(), Health::unknown);
    }
}
