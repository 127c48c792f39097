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
        // directExecutor: a response is handed on from the channel's own event-loop thread instead of
        // hopping to grpc's shared pool first, one thread wake-up less per call (Tokenize and
        // Generate are both on every chat call's path). Safe because nothing downstream of a
        // response blocks: database steps subscribe on their own scheduler (db.Blocking), and the
        // bulkhead never waits (maxWaitDuration zero).
        return target -> Grpc.newChannelBuilder(target, InsecureChannelCredentials.create()).directExecutor().build();
    }
}
