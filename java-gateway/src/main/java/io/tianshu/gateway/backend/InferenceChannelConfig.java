package io.tianshu.gateway.backend;

import io.grpc.Grpc;
import io.grpc.InsecureChannelCredentials;
import org.springframework.context.annotation.Bean;
import org.springframework.context.annotation.Configuration;

/** How channels to inference instances are opened. */
@Configuration(proxyBeanMethods = false)
class InferenceChannelConfig {

    @Bean
    ChannelFactory inferenceChannelFactory() {
        // Plaintext inside the cluster; TLS/mTLS is the mesh's job. No waitForReady anywhere:
        // while an instance is down calls must fail at once with UNAVAILABLE (-> next
        // instance, or 503), not sit out their deadline.
        return target -> Grpc.newChannelBuilder(target, InsecureChannelCredentials.create()).build();
    }
}
