package io.tianshu.gateway.backend;

import io.grpc.stub.StreamObserver;
import io.github.resilience4j.circuitbreaker.CircuitBreakerRegistry;
import io.tianshu.gateway.config.TianshuProperties;
import io.tianshu.inference.v1.EmbedRequest;
import io.tianshu.inference.v1.EmbedResponse;
import io.tianshu.inference.v1.RerankRequest;
import io.tianshu.inference.v1.RerankResponse;
import io.tianshu.inference.v1.GenerateRequest;
import io.tianshu.inference.v1.GenerateResponse;
import io.tianshu.inference.v1.GenerateStreamRequest;
import io.tianshu.inference.v1.GenerateStreamResponse;
import io.tianshu.inference.v1.Generation;
import io.tianshu.inference.v1.GetTokenizerRequest;
import io.tianshu.inference.v1.GetTokenizerResponse;
import io.tianshu.inference.v1.InferenceServiceGrpc.InferenceServiceStub;
import io.tianshu.inference.v1.ListModelsRequest;
import io.tianshu.inference.v1.ListModelsResponse;
import io.tianshu.inference.v1.TokenizeRequest;
import io.tianshu.inference.v1.TokenizeResponse;
import java.time.Duration;
import java.util.function.BiConsumer;
import java.util.function.Function;
import org.springframework.beans.factory.annotation.Autowired;
import org.springframework.stereotype.Component;
import reactor.core.publisher.Flux;
import reactor.core.publisher.Mono;

/**
 * The gateway's only door to the inference service. Every call goes through {@link Failover}
 * (instance choice, breaker, bulkhead, failover) and {@link BackendCalls} (deadline, request
 * id, trace context), with its stub built per attempt so the deadline counts from when that
 * attempt starts.
 */
@Component
public class InferenceClient {

    private static final int TOKENIZER_MAX_BYTES = 64 << 20;

    private final Failover failover;
    private final TianshuProperties.Inference settings;
    private final BackendCalls calls;

    /** Untraced: for tests that build the client outside Spring. */
    InferenceClient(Failover failover, TianshuProperties properties) {
        this(failover, properties, BackendCalls.untraced(CircuitBreakerRegistry.ofDefaults()));
    }

    @Autowired
    InferenceClient(Failover failover, TianshuProperties properties, BackendCalls calls) {
        this.failover = failover;
        this.settings = properties.inference();
        this.calls = calls;
    }

    public Mono<GenerateResponse> generate(Generation generation) {
        GenerateRequest request = GenerateRequest.newBuilder().setGeneration(generation).build();
        return unary(generation.getRequestId(), settings.deadline(), (stub, observer) -> stub.generate(request, observer),
                GenerateResponse::getModel);
    }

    public Flux<GenerateStreamResponse> generateStream(Generation generation) {
        GenerateStreamRequest request = GenerateStreamRequest.newBuilder().setGeneration(generation).build();
        return failover.call(stub -> GrpcReactive.serverStream(observer ->
                        calls.forCall(stub, generation.getRequestId(), settings.streamDeadline())
                                .generateStream(request, observer)),
                GenerateStreamResponse::getModel);
    }

    public Mono<ListModelsResponse> listModels() {
        return unary("", settings.listModelsDeadline(),
                (stub, observer) -> stub.listModels(ListModelsRequest.getDefaultInstance(), observer), null);
    }

    public Mono<EmbedResponse> embed(EmbedRequest request) {
        return unary(request.getRequestId(), settings.deadline(), (stub, observer) -> stub.embed(request, observer),
                EmbedResponse::getModel);
    }

    public Mono<RerankResponse> rerank(RerankRequest request) {
        return unary(request.getRequestId(), settings.deadline(), (stub, observer) -> stub.rerank(request, observer),
                RerankResponse::getModel);
    }

    /** Counts prompt tokens before admission. */
    public Mono<TokenizeResponse> tokenize(TokenizeRequest request, String requestId) {
        return unary(requestId, settings.tokenizeDeadline(), (stub, observer) -> stub.tokenize(request, observer), null);
    }

    /** What Tokenize counts with, for counting prompts in the gateway. */
    public Mono<GetTokenizerResponse> getTokenizer(String model) {
        GetTokenizerRequest request = GetTokenizerRequest.newBuilder().setModel(model).build();
        // A tokenizer.json runs to several megabytes (gRPC's default cap is 4 MiB).
        return unary("", settings.tokenizeDeadline(), (stub, observer) ->
                stub.withMaxInboundMessageSize(TOKENIZER_MAX_BYTES).getTokenizer(request, observer), null);
    }

    private <T> Mono<T> unary(String requestId, Duration deadline,
            BiConsumer<InferenceServiceStub, StreamObserver<T>> rpc, Function<T, String> modelOf) {
        return failover.call(stub -> GrpcReactive.<T>unary(observer -> rpc.accept(
                calls.forCall(stub, requestId, deadline), observer)).flux(), modelOf).singleOrEmpty();
    }
}
