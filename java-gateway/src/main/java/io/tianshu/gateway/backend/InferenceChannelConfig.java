package io.tianshu.gateway.backend;

import io.grpc.Grpc;
import io.grpc.InsecureChannelCredentials;
import io.grpc.ManagedChannel;
import io.tianshu.gateway.config.TianshuProperties;
import org.springframework.context.annotation.Bean;
import org.springframework.context.annotation.Configuration;

/** Wires the one long-lived channel to the inference service. */
@Configuration(proxyBeanMethods = false)
class InferenceChannelConfig {

    // shutdownNow is safe at destroy time: graceful HTTP shutdown has already drained requests.
    @Bean(destroyMethod = "shutdownNow")
    ManagedChannel inferenceChannel(TianshuProperties properties) {
        // Plaintext inside the cluster; TLS/mTLS is the mesh's job. No waitForReady anywhere:
        // while the service is down calls must fail at once with UNAVAILABLE (-> 503), not
        // sit out their deadline.
        return Grpc.newChannelBuilder(properties.inference().target(), InsecureChannelCredentials.create())
                .build();
    }
}
