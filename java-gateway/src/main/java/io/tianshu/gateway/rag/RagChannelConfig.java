package io.tianshu.gateway.rag;

import io.grpc.Grpc;
import io.grpc.InsecureChannelCredentials;
import io.grpc.ManagedChannel;
import io.tianshu.gateway.config.TianshuProperties;
import org.springframework.context.annotation.Bean;
import org.springframework.context.annotation.Configuration;

/** The channels to the RAG service; tests swap in in-process ones. */
@Configuration(proxyBeanMethods = false)
class RagChannelConfig {

    @Bean(destroyMethod = "shutdownNow")
    ManagedChannel ragChannel(TianshuProperties properties) {
        return open(properties);
    }

    @Bean
    RagUploadChannel ragUploadChannel(TianshuProperties properties) {
        return new RagUploadChannel(open(properties));
    }

    private static ManagedChannel open(TianshuProperties properties) {
        // Plaintext inside the cluster, no waitForReady: while the service is down calls fail
        // at once with UNAVAILABLE (503) instead of sitting out their deadline.
        return Grpc.newChannelBuilder(properties.rag().target(), InsecureChannelCredentials.create()).build();
    }
}
