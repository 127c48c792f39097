package io.tianshu.gateway.rag;

import static org.assertj.core.api.Assertions.assertThat;

import io.github.resilience4j.circuitbreaker.CircuitBreakerRegistry;
import io.grpc.ManagedChannel;
import io.grpc.Server;
import io.grpc.inprocess.InProcessChannelBuilder;
import io.grpc.inprocess.InProcessServerBuilder;
import io.tianshu.gateway.backend.BackendCalls;
import io.tianshu.gateway.config.TianshuProperties;
import io.tianshu.gateway.support.Stall;
import io.tianshu.rag.v1.IngestDocumentsRequest;
import io.tianshu.rag.v1.SearchRequest;
import io.tianshu.rag.v1.SearchResponse;
import java.io.IOException;
import java.time.Duration;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import reactor.core.Disposable;

/** Uploads go over a connection of their own, so a search never waits behind an upload's bytes. */
class RagUploadChannelTest {

    private static final TianshuProperties PROPERTIES = new TianshuProperties(null, null, null, null,
            new TianshuProperties.Rag("rag", Duration.ofSeconds(5), Duration.ofSeconds(30), Duration.ofSeconds(30),
                    Duration.ofSeconds(1), "m",
                    new TianshuProperties.Breaker(50, 100, Duration.ofSeconds(60), 100, 100, Duration.ofSeconds(10), 1)),
            null, null, null, null);

    private Stall.Backend uploads;
    private Server searchServer;
    private ManagedChannel searchChannel;
    private RagClient client;

    @BeforeEach
    void twoConnections() throws IOException {
        // The upload connection's end never answers: an upload stuck in flight.
        uploads = Stall.serve(new FakeRagService());
        String name = InProcessServerBuilder.generateName();
        searchServer = InProcessServerBuilder.forName(name).addService(new FakeRagService()).build().start();
        searchChannel = InProcessChannelBuilder.forName(name).build();
        client = new RagClient(searchChannel, new RagUploadChannel(uploads.channel()), PROPERTIES,
                BackendCalls.untraced(CircuitBreakerRegistry.ofDefaults()));
    }

    @AfterEach
    void stop() {
        uploads.close();
        searchChannel.shutdownNow();
        searchServer.shutdownNow();
    }

    @Test
    void aSearchAnswersWhileAnUploadIsStuckOnItsOwnConnection() throws InterruptedException {
        Disposable upload = client.ingest(IngestDocumentsRequest.newBuilder().setTenantId("t").build(), "r")
                .subscribe();
        try {
            for (int i = 0; i < 200 && uploads.stall().held.get() == 0; i++) {
                Thread.sleep(10);
            }
            assertThat(uploads.stall().held).as("the upload went over the upload connection").hasValue(1);

            SearchResponse found = client.search(SearchRequest.newBuilder().setTenantId("t").setCollectionId("c")
                    .setQuery("restart").build(), "r").block(Duration.ofSeconds(5));

            assertThat(found.getHitsList()).isNotEmpty();
            assertThat(uploads.stall().held).as("nothing but the upload on that connection").hasValue(1);
        } finally {
            upload.dispose();
        }
    }
}
