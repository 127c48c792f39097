package io.tianshu.gateway.backend;

import io.grpc.ManagedChannel;
import io.grpc.Metadata;
import io.grpc.stub.MetadataUtils;
import io.tianshu.gateway.config.TianshuProperties;
import io.tianshu.gateway.requestid.RequestId;
import io.tianshu.inference.v1.EmbedRequest;
import io.tianshu.inference.v1.EmbedResponse;
import io.tianshu.inference.v1.GenerateRequest;
import io.tianshu.inference.v1.GenerateResponse;
import io.tianshu.inference.v1.GenerateStreamRequest;
import io.tianshu.inference.v1.GenerateStreamResponse;
import io.tianshu.inference.v1.Generation;
import io.tianshu.inference.v1.InferenceServiceGrpc;
import io.tianshu.inference.v1.InferenceServiceGrpc.InferenceServiceStub;
import io.tianshu.inference.v1.ListModelsRequest;
import io.tianshu.inference.v1.ListModelsResponse;
import io.tianshu.inference.v1.TokenizeRequest;
import io.tianshu.inference.v1.TokenizeResponse;
import java.time.Duration;
import java.util.concurrent.TimeUnit;
import org.springframework.stereotype.Component;
import reactor.core.publisher.Flux;
import reactor.core.publisher.Mono;

/**
 * The gateway's only door to the inference service. Every call gets a deadline and the
 * request id as metadata; the stub is built at subscription so the deadline counts from
 * when the call really starts.
 */
@Component
public class InferenceClient {

    private static final Metadata.Key<String> REQUEST_ID =
            Metadata.Key.of(RequestId.METADATA_KEY, Metadata.ASCII_STRING_MARSHALLER);

    private final InferenceServiceStub stub;
    private final TianshuProperties.Inference settings;

    InferenceClient(ManagedChannel inferenceChannel, TianshuProperties properties) {
        this.stub = InferenceServiceGrpc.newStub(inferenceChannel);
        this.settings = properties.inference();
    }

    public Mono<GenerateResponse> generate(Generation generation) {
        GenerateRequest request = GenerateRequest.newBuilder().setGeneration(generation).build();
        return Mono.defer(() -> GrpcReactive.unary(observer ->
                stub(generation.getRequestId(), settings.deadline()).generate(request, observer)));
    }

    public Flux<GenerateStreamResponse> generateStream(Generation generation) {
        GenerateStreamRequest request = GenerateStreamRequest.newBuilder().setGeneration(generation).build();
        return Flux.defer(() -> GrpcReactive.serverStream(observer ->
                stub(generation.getRequestId(), settings.streamDeadline()).generateStream(request, observer)));
    }

    public Mono<ListModelsResponse> listModels() {
        return Mono.defer(() -> GrpcReactive.unary(observer ->
                stub("", settings.listModelsDeadline()).listModels(ListModelsRequest.getDefaultInstance(), observer)));
    }

    public Mono<EmbedResponse> embed(EmbedRequest request) {
        return Mono.defer(() -> GrpcReactive.unary(observer ->
                stub(request.getRequestId(), settings.deadline()).embed(request, observer)));
    }

    /** Counts prompt tokens before admission. */
    public Mono<TokenizeResponse> tokenize(TokenizeRequest request, String requestId) {
        return Mono.defer(() -> GrpcReactive.unary(observer ->
                stub(requestId, settings.tokenizeDeadline()).tokenize(request, observer)));
    }

    private InferenceServiceStub stub(String requestId, Duration deadline) {
        InferenceServiceStub withDeadline = stub.withDeadlineAfter(deadline.toNanos(), TimeUnit.NANOSECONDS);
        if (requestId.isEmpty()) {
            return withDeadline;
        }
        Metadata headers = new Metadata();
        headers.put(REQUEST_ID, requestId);
        return withDeadline.withInterceptors(MetadataUtils.newAttachHeadersInterceptor(headers));
    }
}
