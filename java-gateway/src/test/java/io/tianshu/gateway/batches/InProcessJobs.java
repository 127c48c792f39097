package io.tianshu.gateway.batches;

import io.grpc.Server;
import io.grpc.inprocess.InProcessChannelBuilder;
import io.grpc.inprocess.InProcessServerBuilder;
import io.grpc.protobuf.services.HealthStatusManager;
import java.io.IOException;
import org.springframework.boot.test.context.TestConfiguration;
import org.springframework.context.annotation.Bean;
import org.springframework.context.annotation.Primary;

/** The batch channel goes to an in-process {@link FakeJobsService} that also answers health checks. */
@TestConfiguration(proxyBeanMethods = false)
class InProcessJobs {

    private final String name = InProcessServerBuilder.generateName();

    @Bean
    FakeJobsService fakeJobsService() {
        return new FakeJobsService();
    }

    @Bean(destroyMethod = "shutdownNow")
    Server fakeJobsServer(FakeJobsService service) throws IOException {
        return InProcessServerBuilder.forName(name)
                .addService(service)
                .addService(new HealthStatusManager().getHealthService())
                .build()
                .start();
    }

    @Bean(destroyMethod = "close")
    @Primary
    JobsChannel inProcessJobsChannel(Server fakeJobsServer) {
        return new JobsChannel(InProcessChannelBuilder.forName(name).build());
    }
}
