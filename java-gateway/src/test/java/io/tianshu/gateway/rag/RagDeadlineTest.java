package io.tianshu.gateway.rag;

import io.github.resilience4j.circuitbreaker.CircuitBreakerRegistry;
import io.grpc.protobuf.services.HealthStatusManager;
import io.tianshu.gateway.backend.BackendCalls;
import io.tianshu.gateway.config.TianshuProperties;
import io.tianshu.gateway.support.CutOff;
import io.tianshu.gateway.support.Stall;
import io.tianshu.rag.v1.AnswerRequest;
import io.tianshu.rag.v1.CreateCollectionRequest;
import io.tianshu.rag.v1.DeleteCollectionRequest;
import io.tianshu.rag.v1.DeleteDocumentRequest;
import io.tianshu.rag.v1.GetIngestJobRequest;
import io.tianshu.rag.v1.IngestDocumentsRequest;
import io.tianshu.rag.v1.SearchRequest;
import io.tianshu.rag.v1.WatchIngestJobRequest;
import java.io.IOException;
import java.time.Duration;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * Every call to the RAG service carries its configured deadline: a service that hangs
 * (accepts the call, never answers) is cut off then, and the caller gets 504 instead of
 * waiting for good. Each kind of call has its own deadline here, so one sent with another's
 * (or none) shows.
 */
class RagDeadlineTest {

    private static final Duration UNARY = Duration.ofMillis(300);
    private static final Duration INGEST = Duration.ofMillis(500);
    private static final Duration STREAM = Duration.ofMillis(700);
    // Long enough that the check reaches the hung backend before it gives up, on a busy machine too.
    private static final Duration HEALTH = Duration.ofSeconds(1);
    // A breaker that never opens in this test: each call must meet the hung service itself.
    private static final TianshuProperties PROPERTIES = new TianshuProperties(null, null, null, null,
            new TianshuProperties.Rag("hung-rag", UNARY, INGEST, STREAM, HEALTH, "m",
                    new TianshuProperties.Breaker(50, 100, Duration.ofSeconds(60), 100, 100, Duration.ofSeconds(10), 1)),
            null, null, null, null);

    private Stall.Backend hung;
    private RagClient client;

    @BeforeEach
    void hungService() throws IOException {
        hung = Stall.serve(new FakeRagService(), new HealthStatusManager().getHealthService());
        client = new RagClient(hung.channel(), new RagUploadChannel(hung.channel()), PROPERTIES, BackendCalls.untraced(CircuitBreakerRegistry.ofDefaults()));
    }

    @AfterEach
    void stop() {
        hung.close();
    }

    static Stream<CutOff.Call<RagClient>> calls() {
        return Stream.of(
                new CutOff.Call<>("CreateCollection",
                        c -> c.createCollection(CreateCollectionRequest.getDefaultInstance(), "r"), UNARY),
                new CutOff.Call<>("ListCollections", c -> c.listCollections("t", "r"), UNARY),
                new CutOff.Call<>("DeleteCollection",
                        c -> c.deleteCollection(DeleteCollectionRequest.getDefaultInstance(), "r"), UNARY),
                new CutOff.Call<>("IngestDocuments",
                        c -> c.ingest(IngestDocumentsRequest.getDefaultInstance(), "r"), INGEST),
                new CutOff.Call<>("GetIngestJob", c -> c.getJob(GetIngestJobRequest.getDefaultInstance(), "r"), UNARY),
                new CutOff.Call<>("DeleteDocument",
                        c -> c.deleteDocument(DeleteDocumentRequest.getDefaultInstance(), "r"), UNARY),
                new CutOff.Call<>("Search", c -> c.search(SearchRequest.getDefaultInstance(), "r"), UNARY),
                new CutOff.Call<>("WatchIngestJob",
                        c -> c.watchJob(WatchIngestJobRequest.getDefaultInstance(), "r"), STREAM),
                new CutOff.Call<>("Answer", c -> c.answer(AnswerRequest.getDefaultInstance(), "r"), STREAM));
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("calls")
    void aHungServiceIsCutOffAtTheCallsDeadlineWith504(CutOff.Call<RagClient> call) throws InterruptedException {
        CutOff.assertCutOff(call, client, hung.stall());
    }

    @Test
    void theHealthCheckGivesUpAtItsDeadline() throws InterruptedException {
        CutOff.assertHealthGivesUpAt(new RagHealthIndicator(hung.channel(), PROPERTIES).health(), HEALTH,
                hung.stall());
    }
}
