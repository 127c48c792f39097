package io.tianshu.gateway.models;

import static org.assertj.core.api.Assertions.assertThat;

import io.tianshu.gateway.backend.TestInferenceClients;
import io.tianshu.gateway.error.ApiException;
import io.tianshu.gateway.support.FakeInferenceService;
import io.tianshu.gateway.support.InProcessGrpc;
import io.tianshu.gateway.support.MutableClock;
import java.time.Duration;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import reactor.test.StepVerifier;

/** Caching and refetching of ListModels, on a clock the test moves by hand. */
class ModelCatalogTest {

    private final FakeInferenceService fake = new FakeInferenceService();
    private final MutableClock clock = new MutableClock();
    private InProcessGrpc grpc;
    private ModelCatalog catalog;

    @BeforeEach
    void start() throws Exception {
        grpc = InProcessGrpc.serving(fake);
        catalog = new ModelCatalog(TestInferenceClients.over(grpc.channel()), Duration.ofSeconds(30), clock);
    }

    @AfterEach
    void stop() {
        grpc.close();
    }

    @Test
    void knownModelIsServedFromCacheWithinTheRefreshPeriod() {
        StepVerifier.create(catalog.require(FakeInferenceService.CHAT_MODEL)).expectNextCount(1).verifyComplete();
        clock.advance(Duration.ofSeconds(29));
        StepVerifier.create(catalog.require(FakeInferenceService.CHAT_MODEL)).expectNextCount(1).verifyComplete();
        assertThat(fake.listModelsCalls).hasValue(1);
    }

    @Test
    void listIsFetchedAgainAfterTheRefreshPeriod() {
        StepVerifier.create(catalog.models()).expectNextCount(1).verifyComplete();
        clock.advance(Duration.ofSeconds(31));
        StepVerifier.create(catalog.models()).expectNextCount(1).verifyComplete();
        assertThat(fake.listModelsCalls).hasValue(2);
    }

    @Test
    void missRefetchesSoANewModelIsFoundAtOnce() {
        StepVerifier.create(catalog.models()).expectNextCount(1).verifyComplete();
        fake.addModel("new-model");
        clock.advance(Duration.ofSeconds(2));
        StepVerifier.create(catalog.require("new-model")).expectNextCount(1).verifyComplete();
        assertThat(fake.listModelsCalls).hasValue(2);
    }

    @Test
    void missesInQuickSuccessionDoNotFloodTheBackend() {
        StepVerifier.create(catalog.models()).expectNextCount(1).verifyComplete();
        for (int i = 0; i < 5; i++) {
            StepVerifier.create(catalog.require("bogus")).expectError(ApiException.class).verify();
        }
        assertThat(fake.listModelsCalls).hasValue(1);
    }
}
