package io.tianshu.gateway.backend;

import static org.assertj.core.api.Assertions.assertThat;

import io.github.resilience4j.circuitbreaker.CircuitBreaker;
import io.github.resilience4j.circuitbreaker.CircuitBreakerRegistry;
import io.grpc.Server;
import io.grpc.ServerInterceptors;
import io.grpc.inprocess.InProcessChannelBuilder;
import io.grpc.inprocess.InProcessServerBuilder;
import io.tianshu.gateway.calltrace.CallTrace;
import io.tianshu.gateway.support.FakeInferenceService;
import io.tianshu.gateway.support.GatewayTest;
import io.tianshu.gateway.support.Outage;
import io.tianshu.inference.v1.GetLoadResponse;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.springframework.beans.factory.DisposableBean;
import org.springframework.beans.factory.annotation.Autowired;
import org.springframework.boot.test.autoconfigure.actuate.observability.AutoConfigureObservability;
import org.springframework.boot.test.context.SpringBootTest;
import org.springframework.boot.test.context.TestConfiguration;
import org.springframework.context.annotation.Bean;
import org.springframework.context.annotation.Import;
import org.springframework.context.annotation.Primary;
import org.springframework.http.HttpHeaders;
import org.springframework.http.MediaType;
import org.springframework.test.web.reactive.server.EntityExchangeResult;
import org.springframework.test.web.reactive.server.WebTestClient;

/**
 * The whole gateway over two in-process inference instances, "fake-a" and "fake-b", each of
 * which a test can take down or make report load. Polling is left to the tests (the interval
 * is an hour), so what the router knows is exactly what a test told it.
 */
@SpringBootTest(webEnvironment = SpringBootTest.WebEnvironment.RANDOM_PORT, properties = {
    "tianshu.inference.targets=fake-a,fake-b",
    "tianshu.inference.load-poll.interval=1h",
    "tianshu.inference.breaker.window=4",
    "tianshu.inference.breaker.minimum-calls=4",
    "tianshu.inference.breaker.open-for=300ms",
    "tianshu.inference.breaker.half-open-calls=1",
})
@Import(MultiInstanceTest.TwoInstances.class)
@AutoConfigureObservability(tracing = false)
class MultiInstanceTest {

    private static final String A = "fake-a";
    private static final String B = "fake-b";
    private static final int REFUSALS_UNTIMED = 10;
    private static final int REFUSALS_TIMED = 15;

    @TestConfiguration(proxyBeanMethods = false)
    static class TwoInstances implements DisposableBean {
        final FakeInferenceService fakeA = new FakeInferenceService();
        final FakeInferenceService fakeB = new FakeInferenceService();
        final Outage outageA = new Outage();
        final Outage outageB = new Outage();
        final List<Server> servers = new ArrayList<>();

        @Bean
        @Primary
        ChannelFactory twoInProcessInstances() throws IOException {
            String a = serve(fakeA, outageA);
            String b = serve(fakeB, outageB);
            return target -> InProcessChannelBuilder.forName(target.equals(A) ? a : b).build();
        }

        private String serve(FakeInferenceService fake, Outage outage) throws IOException {
            String name = InProcessServerBuilder.generateName();
            servers.add(InProcessServerBuilder.forName(name).addService(ServerInterceptors.intercept(fake, outage))
                    .build().start());
            return name;
        }

        @Override
        public void destroy() {
            servers.forEach(Server::shutdownNow);
        }
    }

    @Autowired
    WebTestClient web;

    @Autowired
    TwoInstances instances;

    @Autowired
    LoadPoller poller;

    @Autowired
    CircuitBreakerRegistry breakers;

    @BeforeEach
    void allUpAndIdle() {
        instances.fakeA.reset();
        instances.fakeB.reset();
        instances.outageA.reset();
        instances.outageB.reset();
        breakers.getAllCircuitBreakers().forEach(CircuitBreaker::reset);
        poll();
        web = web.mutate().responseTimeout(Duration.ofSeconds(30))
                .defaultHeader(HttpHeaders.AUTHORIZATION, "Bearer " + GatewayTest.adminKey()).build();
    }

    @AfterEach
    void stopNothingShared() {
        instances.outageA.reset();
        instances.outageB.reset();
    }

    private void poll() {
        poller.pollAll().block(Duration.ofSeconds(10));
    }

    private WebTestClient.ResponseSpec chat(String content, boolean stream) {
        return web.post().uri("/v1/chat/completions").contentType(MediaType.APPLICATION_JSON)
                .bodyValue("""
                        {"model": "%s", "stream": %s, "messages": [{"role": "user", "content": "%s"}]}"""
                        .formatted(FakeInferenceService.CHAT_MODEL, stream, content))
                .exchange();
    }

    private String servedBy() {
        return chat("Hi", false).expectStatus().isOk().returnResult(String.class).getResponseHeaders()
                .getFirst(CallTrace.INSTANCE_HEADER);
    }

    private CircuitBreaker.State state(String target) {
        return breakers.circuitBreaker(target).getState();
    }

    @Test
    void callsSucceedThroughTheOtherInstanceWhenOneIsDown() {
        instances.outageA.down.set(true);
        poll();

        for (int i = 0; i < 4; i++) {
            assertThat(servedBy()).isEqualTo(B);
        }
        assertThat(instances.outageA.calls).as("a polled-down instance is skipped").hasValue(0);
    }

    @Test
    void callsFailOverWhenAnInstanceGoesDownBetweenPolls() {
        instances.outageA.down.set(true);

        for (int i = 0; i < 4; i++) {
            assertThat(servedBy()).isEqualTo(B);
        }
        assertThat(instances.outageA.calls.get()).as("the router still believed in a").isPositive();
    }

    @Test
    void callsGoToTheIdleInstanceWhileTheOtherReportsLoad() {
        instances.fakeA.load.set(GetLoadResponse.newBuilder().setServing(true).setRunningRequests(8)
                .setWaitingRequests(4).setKvCacheUsage(0.7f).build());
        poll();

        for (int i = 0; i < 4; i++) {
            assertThat(servedBy()).isEqualTo(B);
        }
        assertThat(instances.fakeA.generateCalls).hasValue(0);
    }

    @Test
    void idleInstancesShareTheCalls() {
        List<String> served = new ArrayList<>();
        for (int i = 0; i < 4; i++) {
            served.add(servedBy());
        }

        assertThat(served).contains(A, B);
    }

    @Test
    void nonStreamingResponseNamesInstanceModelAndGatewayTime() {
        EntityExchangeResult<String> result = chat("Hi", false).expectStatus().isOk().expectBody(String.class)
                .returnResult();

        HttpHeaders headers = result.getResponseHeaders();
        assertThat(headers.getFirst(CallTrace.INSTANCE_HEADER)).isIn(A, B);
        assertThat(headers.getFirst(CallTrace.MODEL_HEADER)).isEqualTo(FakeInferenceService.CHAT_MODEL);
        assertThat(Long.parseLong(headers.getFirst(CallTrace.GATEWAY_MS_HEADER))).isNotNegative();
    }

    @Test
    void embeddingsResponseNamesInstanceAndModel() {
        web.post().uri("/v1/embeddings").contentType(MediaType.APPLICATION_JSON)
                .bodyValue("{\"model\": \"%s\", \"input\": \"Hi\"}".formatted(FakeInferenceService.EMBED_MODEL))
                .exchange()
                .expectStatus().isOk()
                .expectHeader().valueEquals(CallTrace.MODEL_HEADER, FakeInferenceService.EMBED_MODEL)
                .expectHeader().value(CallTrace.INSTANCE_HEADER, instance -> assertThat(instance).isIn(A, B))
                .expectHeader().exists(CallTrace.GATEWAY_MS_HEADER);
    }

    @Test
    void openBreakersAnswer503WithRetryAfterWithoutCallingABackend() {
        instances.outageA.down.set(true);
        instances.outageB.down.set(true);
        for (int i = 0; i < 4; i++) {
            chat("Hi", false).expectStatus().isEqualTo(503);
        }
        assertThat(state(A)).isEqualTo(CircuitBreaker.State.OPEN);
        assertThat(state(B)).isEqualTo(CircuitBreaker.State.OPEN);
        int reached = instances.outageA.calls.get() + instances.outageB.calls.get();

        chat("Hi", false).expectStatus().isEqualTo(503)
                .expectHeader().valueEquals(HttpHeaders.RETRY_AFTER, "1")
                .expectBody()
                .jsonPath("$.error.type").isEqualTo("service_unavailable_error")
                .jsonPath("$.error.code").isEqualTo("circuit_open");
        assertThat(instances.outageA.calls.get() + instances.outageB.calls.get()).isEqualTo(reached);
    }

    /**
     * The refusal is the point of an open breaker: a caller hears at once instead of waiting on
     * a broken instance. Timed over several refusals, after a few untimed ones that let the JIT
     * compile the path, and judged by the median, so one GC pause or scheduling hiccup on the
     * shared test machine cannot decide it.
     */
    @Test
    void openBreakersRefuseInUnder50Milliseconds() {
        instances.outageA.down.set(true);
        instances.outageB.down.set(true);
        List<Double> refusalMillis = new ArrayList<>();
        int refusals = 0;
        // Open for 300 ms here: between refusals a breaker may turn half-open and let one probe
        // through to its downed instance (503 unavailable), which opens it again. Only refusals count.
        for (int call = 0; call < 300 && refusalMillis.size() < REFUSALS_TIMED; call++) {
            long start = System.nanoTime();
            EntityExchangeResult<String> result = chat("Hi", false).expectStatus().isEqualTo(503)
                    .expectBody(String.class).returnResult();
            double millis = (System.nanoTime() - start) / 1e6;
            if (result.getResponseBody().contains("\"code\":\"circuit_open\"")) {
                assertThat(result.getResponseHeaders().getFirst(HttpHeaders.RETRY_AFTER)).isEqualTo("1");
                assertThat(result.getResponseBody()).contains("\"type\":\"service_unavailable_error\"");
                if (++refusals > REFUSALS_UNTIMED) {
                    refusalMillis.add(millis);
                }
            }
        }

        assertThat(refusalMillis).hasSize(REFUSALS_TIMED);
        Collections.sort(refusalMillis);
        assertThat(refusalMillis.get(REFUSALS_TIMED / 2)).as("median of %s ms", refusalMillis).isLessThan(50.0);
    }

    @Test
    void halfOpenBreakerClosesOnceTheBackendRecovers() throws InterruptedException {
        instances.outageA.down.set(true);
        instances.outageB.down.set(true);
        for (int i = 0; i < 4; i++) {
            chat("Hi", false).expectStatus().isEqualTo(503);
        }
        instances.outageA.reset();
        instances.outageB.reset();

        Thread.sleep(600);
        assertThat(state(A)).isEqualTo(CircuitBreaker.State.HALF_OPEN);
        String served = servedBy();

        assertThat(state(served)).isEqualTo(CircuitBreaker.State.CLOSED);
    }

    @Test
    void streamIsNotRepeatedAfterItsFirstTokenAndEndsWithAnErrorEvent() {
        byte[] body = chat(FakeInferenceService.DROP_MID_STREAM, true).expectStatus().isOk()
                .expectBody().returnResult().getResponseBodyContent();

        String text = new String(body, StandardCharsets.UTF_8);
        assertThat(text).contains("\"content\":\"Hel\"").contains("data: {\"error\":").doesNotContain("[DONE]");
        assertThat(instances.fakeA.generateCalls.get() + instances.fakeB.generateCalls.get()).isEqualTo(1);
    }

    @Test
    void streamFailsOverBeforeItsFirstToken() {
        instances.outageA.down.set(true);

        for (int i = 0; i < 2; i++) {
            byte[] body = chat("Hi", true).expectStatus().isOk()
                    .expectHeader().valueEquals(CallTrace.INSTANCE_HEADER, B)
                    .expectBody().returnResult().getResponseBodyContent();
            assertThat(new String(body, StandardCharsets.UTF_8)).endsWith("data: [DONE]\n\n");
        }
    }

    @Test
    void readinessHoldsWhileOneInstanceServesAndFailsWhenNoneDoes() {
        instances.outageA.down.set(true);
        poll();
        web.get().uri("/actuator/health/readiness").exchange().expectStatus().isOk();

        instances.outageB.down.set(true);
        poll();
        web.get().uri("/actuator/health/readiness").exchange().expectStatus().isEqualTo(503);
        web.get().uri("/actuator/health/liveness").exchange().expectStatus().isOk();
    }

    @Test
    void prometheusShowsBreakerStatesAndInstanceLoad() {
        instances.fakeB.load.set(GetLoadResponse.newBuilder().setServing(true).setRunningRequests(3).build());
        poll();

        String metrics = web.get().uri("/actuator/prometheus").exchange().expectStatus().isOk()
                .expectBody(String.class).returnResult().getResponseBody();

        assertThat(metrics)
                .contains("resilience4j_circuitbreaker_state{name=\"fake-a\",state=\"closed\"} 1.0")
                .contains("tianshu_inference_running_requests{target=\"fake-b\"} 3.0")
                .contains("tianshu_inference_serving{target=\"fake-a\"} 1.0")
                .contains("resilience4j_bulkhead_available_concurrent_calls{name=\"fake-a\"}");
    }
}
