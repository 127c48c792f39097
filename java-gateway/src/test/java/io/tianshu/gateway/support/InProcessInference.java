package io.tianshu.gateway.support;

import io.grpc.Server;
import io.grpc.ServerInterceptors;
import io.grpc.inprocess.InProcessChannelBuilder;
import io.grpc.inprocess.InProcessServerBuilder;
import io.tianshu.gateway.backend.ChannelFactory;
import java.io.IOException;
import org.springframework.boot.test.context.TestConfiguration;
import org.springframework.context.annotation.Bean;
import org.springframework.context.annotation.Primary;

/** Replaces network channels with ones to an in-process server running {@link FakeInferenceService}. */
@TestConfiguration(proxyBeanMethods = false)
public class InProcessInference {

    private final String name = InProcessServerBuilder.generateName();

    @Bean
    FakeInferenceService fakeInferenceService() {
        return new FakeInferenceService();
    }

    @Bean(destroyMethod = "shutdownNow")
    Server fakeInferenceServer(FakeInferenceService service) throws IOException {
        return InProcessServerBuilder.forName(name)
                .addService(ServerInterceptors.intercept(service, new MetadataCapture()))
                .build()
                .start();
    }

    /** Whatever tianshu.inference.targets says, every instance is this one fake. */
    @Bean
    @Primary
    ChannelFactory inProcessChannels(Server fakeInferenceServer) {
        return target -> InProcessChannelBuilder.forName(name).build();
    }
}
