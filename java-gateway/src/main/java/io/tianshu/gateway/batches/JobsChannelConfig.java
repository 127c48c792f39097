package io.tianshu.gateway.batches;

import io.grpc.Grpc;
import io.grpc.InsecureChannelCredentials;
import io.tianshu.gateway.config.TianshuProperties;
import org.springframework.context.annotation.Bean;
import org.springframework.context.annotation.Configuration;

/** The one channel to the batch service; tests swap in an in-process one. */
@Configuration(proxyBeanMethods = false)
class JobsChannelConfig {

    @Bean(destroyMethod = "close")
    JobsChannel jobsChannel(TianshuProperties properties) {
        TianshuProperties.Batch settings = properties.batch();
        if (!settings.configured()) {
            return JobsChannel.NONE;
        }
        // Plaintext inside the cluster, no waitForReady: while the service is down calls fail at
        // once with UNAVAILABLE (503) instead of sitting out their deadline.
        return new JobsChannel(Grpc.newChannelBuilder(settings.target(), InsecureChannelCredentials.create())
                .maxInboundMessageSize((int) Math.min(Integer.MAX_VALUE, settings.maxMessageBytes().toBytes()))
                .build());
    }
}
