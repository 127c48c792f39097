package io.tianshu.gateway.backend;

import static org.assertj.core.api.Assertions.assertThat;

import io.github.resilience4j.bulkhead.BulkheadFullException;
import io.github.resilience4j.circuitbreaker.CallNotPermittedException;
import io.github.resilience4j.circuitbreaker.CircuitBreaker;
import io.grpc.ManagedChannel;
import io.grpc.Server;
import io.grpc.ServerInterceptors;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.grpc.inprocess.InProcessChannelBuilder;
import io.grpc.inprocess.InProcessServerBuilder;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import io.tianshu.gateway.config.TianshuProperties;
import io.tianshu.gateway.error.ApiError;
import io.tianshu.gateway.error.ErrorMapper;
import io.tianshu.gateway.support.FakeInferenceService;
import io.tianshu.gateway.support.Outage;
import io.tianshu.inference.v1.ChatMessage;
import io.tianshu.inference.v1.Generation;
import io.tianshu.inference.v1.TokenizeRequest;
import java.io.IOException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.springframework.http.HttpHeaders;
import reactor.core.Disposable;
import reactor.test.StepVerifier;

/** Failover, breakers and bulkheads of the client over two in-process instances, "a" and "b". */
class FailoverTest {

    private static final Duration WAIT = Duration.ofSeconds(10);

    private final FakeInferenceService fakeA = new FakeInferenceService();
    private final FakeInferenceService fakeB = new FakeInferenceService();
    private final Outage outageA = new Outage();
    private final Outage outageB = new Outage();
    private final List<Server> servers = new ArrayList<>();
    private final List<ManagedChannel> channels = new ArrayList<>();
    private final SimpleMeterRegistry meters = new SimpleMeterRegistry();
    private InferenceInstances instances;
    private InferenceClient client;

    private void start(int breakerWindow, int maxConcurrentCalls) throws IOException {
        start(TestInferenceClients.properties(List.of("a", "b"), breakerWindow, maxConcurrentCalls));
    }

    private void start(TianshuProperties properties) throws IOException {
        Map<String, ManagedChannel> byTarget = Map.of("a", serve(fakeA, outageA), "b", serve(fakeB, outageB));
        instances = TestInferenceClients.instances(properties, byTarget::get, meters);
        client = new InferenceClient(new Failover(instances, properties), properties);
    }

    private ManagedChannel serve(FakeInferenceService fake, Outage outage) throws IOException {
        String name = InProcessServerBuilder.generateName();
        servers.add(InProcessServerBuilder.forName(name).addService(ServerInterceptors.intercept(fake, outage))
                .build().start());
        ManagedChannel channel = InProcessChannelBuilder.forName(name).build();
        channels.add(channel);
        return channel;
    }

    @AfterEach
    void stop() {
        channels.forEach(ManagedChannel::shutdownNow);
        servers.forEach(Server::shutdownNow);
    }

    private static Generation generation(String content) {
        return Generation.newBuilder().setModel(FakeInferenceService.CHAT_MODEL).setRequestId("r")
                .addMessages(ChatMessage.newBuilder().setRole("user").setContent(content)).build();
    }

    private static TokenizeRequest tokenize() {
        return TokenizeRequest.newBuilder().setModel(FakeInferenceService.CHAT_MODEL).setPrompt("Hi").build();
    }

    @Test
    void unaryCallMovesToTheOtherInstanceWhenOneIsUnavailable() throws IOException {
        start(10, 100);
        outageA.down.set(true);

        // The rotation puts "a" first for one of the two calls.
        for (int i = 0; i < 2; i++) {
            StepVerifier.create(client.generate(generation("Hi"))).expectNextCount(1).expectComplete().verify(WAIT);
        }

        assertThat(outageA.calls).hasValue(1);
        assertThat(fakeB.generateCalls).hasValue(2);
        assertThat(meters.counter("tianshu.gateway.failovers", "from", "a", "reason", "unavailable").count())
                .isEqualTo(1.0);
    }

    @Test
    void streamMovesOnWhenItsFirstInstanceFailsBeforeTheFirstMessage() throws IOException {
        start(10, 100);
        outageA.down.set(true);

        for (int i = 0; i < 2; i++) {
            StepVerifier.create(client.generateStream(generation("Hi"))).expectNextCount(3).expectComplete()
                    .verify(WAIT);
        }

        assertThat(outageA.calls).hasValue(1);
        assertThat(fakeB.generateCalls).hasValue(2);
    }

    @Test
    void streamIsNeverRepeatedAfterItsFirstMessage() throws IOException {
        start(10, 100);

        StepVerifier.create(client.generateStream(generation(FakeInferenceService.DROP_MID_STREAM)))
                .expectNextMatches(message -> message.getText().equals("Hel"))
                .expectErrorSatisfies(e -> assertThat(Status.fromThrowable(e).getCode())
                        .isEqualTo(Status.Code.UNAVAILABLE))
                .verify(WAIT);

        assertThat(fakeA.generateCalls.get() + fakeB.generateCalls.get()).isEqualTo(1);
    }

    @Test
    void answersOfAWorkingInstanceNeitherFailOverNorOpenItsBreaker() throws IOException {
        start(4, 100);

        for (String content : List.of(FakeInferenceService.BAD_FIELD, FakeInferenceService.OVERLOAD)) {
            for (int i = 0; i < 6; i++) {
                StepVerifier.create(client.generate(generation(content)))
                        .expectError(StatusRuntimeException.class).verify(WAIT);
            }
        }

        assertThat(fakeA.generateCalls.get() + fakeB.generateCalls.get()).isEqualTo(12);
        assertThat(instances.all()).allSatisfy(i -> assertThat(i.breaker().getState())
                .isEqualTo(CircuitBreaker.State.CLOSED));
    }

    @Test
    void slowAnswersOpenTheBreakersThoughNoCallFailed() throws IOException {
        // Slow past 50 ms; the fake answers after 200 ms, so every call in a window is slow.
        start(TestInferenceClients.properties(List.of("a", "b"),
                TestInferenceClients.breaker(4, Duration.ofMillis(50)), 100, TestInferenceClients.Deadlines.GENEROUS));

        // Each instance takes calls until its window of four is full of slow ones, then the other
        // takes the rest: unary answers, and streams whose first token is late.
        for (int i = 0; i < 4; i++) {
            StepVerifier.create(client.generate(generation(FakeInferenceService.SLOW))).expectNextCount(1)
                    .expectComplete().verify(WAIT);
            StepVerifier.create(client.generateStream(generation(FakeInferenceService.SLOW))).expectNextCount(3)
                    .expectComplete().verify(WAIT);
        }

        assertThat(instances.all()).allSatisfy(instance -> {
            assertThat(instance.breaker().getState()).isEqualTo(CircuitBreaker.State.OPEN);
            assertThat(instance.breaker().getMetrics().getNumberOfFailedCalls()).isZero();
            assertThat(instance.breaker().getMetrics().getNumberOfSlowSuccessfulCalls()).isEqualTo(4);
        });
        int reached = fakeA.generateCalls.get() + fakeB.generateCalls.get();
        StepVerifier.create(client.generate(generation("Hi")))
                .expectErrorSatisfies(e -> assertThat(ErrorMapper.toApiError(e, null, "req-1").body().error().code())
                        .isEqualTo("circuit_open"))
                .verify(WAIT);
        assertThat(fakeA.generateCalls.get() + fakeB.generateCalls.get()).as("no call reached a backend")
                .isEqualTo(reached);
    }

    @Test
    void openBreakersRefuseAtOnceWith503AndRetryAfter() throws IOException {
        start(4, 100);
        outageA.down.set(true);
        outageB.down.set(true);
        // Each call tries both instances: four calls fill both windows with failures.
        for (int i = 0; i < 4; i++) {
            StepVerifier.create(client.tokenize(tokenize(), "r")).expectError(StatusRuntimeException.class)
                    .verify(WAIT);
        }
        assertThat(instances.all()).allSatisfy(i -> assertThat(i.breaker().getState())
                .isEqualTo(CircuitBreaker.State.OPEN));
        int reached = outageA.calls.get() + outageB.calls.get();

        StepVerifier.create(client.tokenize(tokenize(), "r"))
                .expectErrorSatisfies(e -> {
                    assertThat(e).isInstanceOf(CallRefusedException.class)
                            .hasCauseInstanceOf(CallNotPermittedException.class);
                    ApiError error = ErrorMapper.toApiError(e, null, "req-1");
                    assertThat(error.status().value()).isEqualTo(503);
                    assertThat(error.body().error().code()).isEqualTo("circuit_open");
                    // Open for a minute in these settings: the caller is told to come back then.
                    assertThat(Long.parseLong(error.headers().getFirst(HttpHeaders.RETRY_AFTER)))
                            .isBetween(50L, 60L);
                })
                .verify(WAIT);
        assertThat(outageA.calls.get() + outageB.calls.get()).as("no call reached a backend").isEqualTo(reached);
    }

    @Test
    void fullBulkheadsRefuseWith429AndRetryAfterUntilASlotFrees() throws IOException {
        start(10, 1);
        // Two streams that never end hold the one slot of each instance.
        Disposable first = client.generateStream(generation(FakeInferenceService.HANG)).subscribe();
        Disposable second = client.generateStream(generation(FakeInferenceService.HANG)).subscribe();

        StepVerifier.create(client.tokenize(tokenize(), "r"))
                .expectErrorSatisfies(e -> {
                    assertThat(e).hasCauseInstanceOf(BulkheadFullException.class);
                    ApiError error = ErrorMapper.toApiError(e, null, "req-1");
                    assertThat(error.status().value()).isEqualTo(429);
                    assertThat(error.body().error().type()).isEqualTo("rate_limit_error");
                    assertThat(error.body().error().code()).isEqualTo("backend_busy");
                    assertThat(error.headers().getFirst(HttpHeaders.RETRY_AFTER)).isEqualTo("1");
                })
                .verify(WAIT);

        first.dispose();
        StepVerifier.create(client.tokenize(tokenize(), "r")).expectNextCount(1).expectComplete().verify(WAIT);
        second.dispose();
        assertThat(fakeA.tokenizeCalls.get() + fakeB.tokenizeCalls.get()).isEqualTo(1);
    }
}
