package io.tianshu.gateway.rag;

import static org.assertj.core.api.Assertions.assertThat;

import io.github.resilience4j.circuitbreaker.CircuitBreaker;
import io.github.resilience4j.circuitbreaker.CircuitBreakerRegistry;
import io.grpc.ManagedChannel;
import io.grpc.Metadata;
import io.grpc.Server;
import io.grpc.ServerCall;
import io.grpc.ServerCallHandler;
import io.grpc.ServerInterceptor;
import io.grpc.ServerInterceptors;
import io.grpc.inprocess.InProcessChannelBuilder;
import io.grpc.inprocess.InProcessServerBuilder;
import io.tianshu.gateway.requestid.RequestId;
import io.tianshu.gateway.support.GatewayTest;
import io.tianshu.gateway.support.Outage;
import java.io.IOException;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.springframework.beans.factory.annotation.Autowired;
import org.springframework.boot.test.context.TestConfiguration;
import org.springframework.context.annotation.Bean;
import org.springframework.context.annotation.Import;
import org.springframework.context.annotation.Primary;
import org.springframework.http.HttpHeaders;
import org.springframework.http.MediaType;
import org.springframework.test.context.TestPropertySource;
import org.springframework.test.web.reactive.server.EntityExchangeResult;
import org.springframework.test.web.reactive.server.WebTestClient;

/**
 * Calls to the RAG service go the one way every backend call goes: the caller's request id
 * and trace context travel with them, and they pass the service's own breaker ("rag"), which
 * a failing service opens, after which the gateway refuses at once with the body an open
 * inference breaker answers (503 {@code circuit_open}, Retry-After), the service unreached.
 */
@Import(RagBackendCallsTest.DownableRag.class)
@TestPropertySource(properties = {
    "tianshu.rag.breaker.window=4",
    "tianshu.rag.breaker.minimum-calls=4",
    "tianshu.rag.breaker.open-for=1m",
})
class RagBackendCallsTest extends GatewayTest {

    private static final String TRACE_ID = "4bf92f3577b34da6a3ce929d0e0e4736";
    private static final String CALLER_SPAN = "00f067aa0ba902b7";

    /** The in-process RAG service behind an {@link Outage}, recording each call's metadata. */
    @TestConfiguration(proxyBeanMethods = false)
    static class DownableRag implements ServerInterceptor {
        final Outage outage = new Outage();
        final AtomicReference<String> requestId = new AtomicReference<>();
        final AtomicReference<String> traceparent = new AtomicReference<>();
        private final String name = InProcessServerBuilder.generateName();

        @Bean(destroyMethod = "shutdownNow")
        Server downableRagServer() throws IOException {
            return InProcessServerBuilder.forName(name)
                    .addService(ServerInterceptors.intercept(new FakeRagService(), outage, this)).build().start();
        }

        @Bean(destroyMethod = "shutdownNow")
        @Primary
        ManagedChannel downableRagChannel(Server downableRagServer) {
            return InProcessChannelBuilder.forName(name).build();
        }

        @Bean
        @Primary
        RagUploadChannel downableRagUploadChannel(Server downableRagServer) {
            return new RagUploadChannel(InProcessChannelBuilder.forName(name).build());
        }

        @Override
        public <Q, R> ServerCall.Listener<Q> interceptCall(ServerCall<Q, R> call, Metadata headers,
                ServerCallHandler<Q, R> next) {
            requestId.set(headers.get(Metadata.Key.of(RequestId.METADATA_KEY, Metadata.ASCII_STRING_MARSHALLER)));
            traceparent.set(headers.get(Metadata.Key.of("traceparent", Metadata.ASCII_STRING_MARSHALLER)));
            return next.startCall(call, headers);
        }
    }

    @Autowired
    DownableRag rag;

    @Autowired
    CircuitBreakerRegistry breakers;

    @BeforeEach
    @AfterEach
    void upWithAClosedBreaker() {
        rag.outage.reset();
        breakers.circuitBreaker("rag").reset();
    }

    private WebTestClient.ResponseSpec search() {
        return web.post().uri("/v1/rag/collections/docs/search").contentType(MediaType.APPLICATION_JSON)
                .header("traceparent", "00-" + TRACE_ID + "-" + CALLER_SPAN + "-01")
                .bodyValue("{\"query\": \"q\"}").exchange();
    }

    @Test
    void aCallCarriesTheRequestIdAndTheCallersTrace() {
        String requestId = search().expectStatus().isOk().returnResult(String.class).getResponseHeaders()
                .getFirst(RequestId.HEADER);

        assertThat(rag.requestId.get()).isEqualTo(requestId).isNotBlank();
        String sent = rag.traceparent.get();
        assertThat(sent).matches("00-[0-9a-f]{32}-[0-9a-f]{16}-01");
        assertThat(sent.split("-")[1]).isEqualTo(TRACE_ID);
        // A client span of the gateway's own, child of the caller's.
        assertThat(sent.split("-")[2]).isNotEqualTo(CALLER_SPAN);
    }

    @Test
    void aFailingServiceOpensItsBreakerAndIsThenRefusedWithoutBeingCalled() {
        rag.outage.down.set(true);
        for (int i = 0; i < 4; i++) {
            search().expectStatus().isEqualTo(503).expectBody()
                    .jsonPath("$.error.code").isEqualTo("unavailable");
        }
        assertThat(breakers.circuitBreaker("rag").getState()).isEqualTo(CircuitBreaker.State.OPEN);
        int reached = rag.outage.calls.get();

        EntityExchangeResult<byte[]> refused = search().expectStatus().isEqualTo(503)
                .expectHeader().value(HttpHeaders.RETRY_AFTER, seconds -> assertThat(Long.parseLong(seconds))
                        .isBetween(1L, 60L))
                .expectBody()
                .jsonPath("$.error.type").isEqualTo("service_unavailable_error")
                .jsonPath("$.error.code").isEqualTo("circuit_open")
                .returnResult();
        String requestId = refused.getResponseHeaders().getFirst(RequestId.HEADER);
        assertThat(new String(refused.getResponseBodyContent())).contains("\"message\":\"The RAG service is failing; "
                + "the gateway stopped calling it for now, retry later (request id: " + requestId + ").\"");
        assertThat(rag.outage.calls.get()).isEqualTo(reached);
        // Only the RAG service's breaker: chat's backends are another breaker's business.
        assertThat(breakers.getAllCircuitBreakers().stream().filter(b -> b.getState() == CircuitBreaker.State.OPEN)
                .map(CircuitBreaker::getName)).containsExactly("rag");
    }
}
