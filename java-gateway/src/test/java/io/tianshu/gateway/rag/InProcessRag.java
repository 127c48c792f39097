package io.tianshu.gateway.rag;

import io.grpc.ManagedChannel;
import io.grpc.Server;
import io.grpc.inprocess.InProcessChannelBuilder;
import io.grpc.inprocess.InProcessServerBuilder;
import io.grpc.protobuf.services.HealthStatusManager;
import java.io.IOException;
import org.springframework.boot.test.context.TestConfiguration;
import org.springframework.context.annotation.Bean;
import org.springframework.context.annotation.Primary;

/** The RAG channels go to an in-process {@link FakeRagService} that also answers health checks. */
@TestConfiguration(proxyBeanMethods = false)
public class InProcessRag {

    private final String name = InProcessServerBuilder.generateName();

    @Bean
    FakeRagService fakeRagService() {
        return new FakeRagService();
    }

    @Bean(destroyMethod = "shutdownNow")
    Server fakeRagServer(FakeRagService service) throws IOException {
        return InProcessServerBuilder.forName(name)
                .addService(service)
                .addService(new HealthStatusManager().getHealthService())
                .build()
                .start();
    }

    @Bean(destroyMethod = "shutdownNow")
    @Primary
    ManagedChannel inProcessRagChannel(Server fakeRagServer) {
        return InProcessChannelBuilder.forName(name).build();
    }

    @Bean
    @Primary
    RagUploadChannel inProcessRagUploadChannel(Server fakeRagServer) {
        return new RagUploadChannel(InProcessChannelBuilder.forName(name).build());
    }
}
