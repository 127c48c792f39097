package io.tianshu.gateway.batches;

import io.github.resilience4j.circuitbreaker.CircuitBreakerRegistry;
import io.grpc.protobuf.services.HealthStatusManager;
import io.tianshu.gateway.config.TianshuProperties;
import io.tianshu.gateway.support.CutOff;
import io.tianshu.gateway.support.Stall;
import io.tianshu.jobs.v1.CreateBatchRequest;
import io.tianshu.jobs.v1.GetBatchResultsRequest;
import io.tianshu.jobs.v1.ListBatchesRequest;
import java.io.IOException;
import java.time.Duration;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;
import org.springframework.util.unit.DataSize;

/**
 * Every call to the batch service carries its configured deadline: a service that hangs
 * (accepts the call, never answers) is cut off then, and the caller gets 504 instead of
 * waiting for good. Each kind of call has its own deadline here, so one sent with another's
 * (or none) shows.
 */
class JobsDeadlineTest {

    private static final Duration UNARY = Duration.ofMillis(300);
    private static final Duration CREATE = Duration.ofMillis(500);
    // Long enough that the check reaches the hung backend before it gives up, on a busy machine too.
    private static final Duration HEALTH = Duration.ofSeconds(1);
    // A breaker that never opens in this test: each call must meet the hung service itself.
    private static final TianshuProperties PROPERTIES = new TianshuProperties(null, null, null, null, null,
            new TianshuProperties.Batch("hung-batch", UNARY, CREATE, HEALTH, DataSize.ofMegabytes(4),
                    new TianshuProperties.Breaker(50, 100, Duration.ofSeconds(60), 100, 100, Duration.ofSeconds(10), 1),
                    new TianshuProperties.Charge(Duration.ofDays(1), 10)),
            null, null, null);

    private Stall.Backend hung;
    private JobsChannel channel;
    private JobsClient client;

    @BeforeEach
    void hungService() throws IOException {
        hung = Stall.serve(new FakeJobsService(), new HealthStatusManager().getHealthService());
        channel = new JobsChannel(hung.channel());
        client = new JobsClient(channel, PROPERTIES, CircuitBreakerRegistry.ofDefaults());
    }

    @AfterEach
    void stop() {
        hung.close();
    }

    static Stream<CutOff.Call<JobsClient>> calls() {
        return Stream.of(
                new CutOff.Call<>("CreateBatch", c -> c.create(CreateBatchRequest.getDefaultInstance(), "r"), CREATE),
                new CutOff.Call<>("GetBatch", c -> c.get("t", "b", "r"), UNARY),
                new CutOff.Call<>("ListBatches", c -> c.list(ListBatchesRequest.getDefaultInstance(), "r"), UNARY),
                new CutOff.Call<>("CancelBatch", c -> c.cancel("t", "b", "r"), UNARY),
                new CutOff.Call<>("GetBatchResults",
                        c -> c.results(GetBatchResultsRequest.getDefaultInstance(), "r"), UNARY),
                // The charger's ledger reads, outside the breaker, still have theirs.
                new CutOff.Call<>("ListUsage", c -> c.usage(0, 10), UNARY));
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("calls")
    void aHungServiceIsCutOffAtTheCallsDeadlineWith504(CutOff.Call<JobsClient> call) throws InterruptedException {
        CutOff.assertCutOff(call, client, hung.stall());
    }

    @Test
    void theHealthCheckGivesUpAtItsDeadline() throws InterruptedException {
        CutOff.assertHealthGivesUpAt(new JobsHealthIndicator(channel, PROPERTIES).health(), HEALTH, hung.stall());
    }
}
