package io.tianshu.gateway.rag;

import io.grpc.ManagedChannel;
import io.grpc.health.v1.HealthGrpc;
import io.tianshu.gateway.backend.GrpcHealthCheck;
import io.tianshu.gateway.config.TianshuProperties;
import org.springframework.boot.actuate.health.Health;
import org.springframework.boot.actuate.health.ReactiveHealthIndicator;
import org.springframework.stereotype.Component;
import reactor.core.publisher.Mono;

/**
 * The "rag" health component: one grpc.health.v1 Check of the RAG service. UP while it
 * serves; otherwise UNKNOWN with the reason, not DOWN, and it is in neither probe group:
 * chat and embeddings do not need the RAG service, so its outage must not take the gateway
 * out of rotation or turn the overall status red. Only /v1/rag calls fail (503) meanwhile.
 */
@Component("rag")
class RagHealthIndicator implements ReactiveHealthIndicator {

    private final HealthGrpc.HealthStub health;
    private final TianshuProperties.Rag settings;

    RagHealthIndicator(ManagedChannel ragChannel, TianshuProperties properties) {
        this.health = HealthGrpc.newStub(ragChannel);
        this.settings = properties.rag();
    }

    @Override
    public Mono<Health> health() {
        return GrpcHealthCheck.check(health, settings.healthDeadline(), settings.target(), Health::unknown);
    }
}
