package io.tianshu.gateway.backend;

import static org.assertj.core.api.Assertions.assertThat;

import io.tianshu.gateway.config.TianshuProperties;
import io.tianshu.gateway.support.CutOff;
import io.tianshu.gateway.support.FakeInferenceService;
import io.tianshu.gateway.support.Stall;
import io.tianshu.inference.v1.ChatMessage;
import io.tianshu.inference.v1.EmbedRequest;
import io.tianshu.inference.v1.Generation;
import io.tianshu.inference.v1.TokenizeRequest;
import java.io.IOException;
import java.time.Duration;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * Every call to an inference instance carries its configured deadline: an instance that hangs
 * (accepts the call, never answers) is cut off then, and the caller gets 504, not a request
 * that waits for good. Each kind of call has its own deadline here, so a call sent with
 * another one's (or none) shows.
 */
class InferenceDeadlineTest {

    private static final TestInferenceClients.Deadlines DEADLINES = new TestInferenceClients.Deadlines(
            Duration.ofMillis(300), Duration.ofMillis(500), Duration.ofMillis(200), Duration.ofMillis(400),
            Duration.ofMillis(250));

    // A breaker that never opens in this test: each call must meet the hung instance itself.
    private static final TianshuProperties PROPERTIES = TestInferenceClients.properties(List.of("hung"),
            TestInferenceClients.breaker(100, Duration.ofSeconds(30)), 100, DEADLINES);

    private Stall.Backend hung;
    private InferenceInstances instances;
    private InferenceClient client;

    @BeforeEach
    void hungInstance() throws IOException {
        hung = Stall.serve(new FakeInferenceService());
        instances = TestInferenceClients.instances(PROPERTIES, target -> hung.channel());
        client = new InferenceClient(new Failover(instances, PROPERTIES), PROPERTIES);
    }

    @AfterEach
    void stop() {
        hung.close();
    }

    static Stream<CutOff.Call<InferenceClient>> calls() {
        Generation generation = Generation.newBuilder().setModel(FakeInferenceService.CHAT_MODEL).setRequestId("r")
                .addMessages(ChatMessage.newBuilder().setRole("user").setContent("Hi")).build();
        EmbedRequest embed = EmbedRequest.newBuilder().setModel(FakeInferenceService.EMBED_MODEL).addTexts("Hi")
                .build();
        TokenizeRequest tokenize = TokenizeRequest.newBuilder().setModel(FakeInferenceService.CHAT_MODEL)
                .setPrompt("Hi").build();
        return Stream.of(
                new CutOff.Call<>("Generate", c -> c.generate(generation), DEADLINES.unary()),
                new CutOff.Call<>("Embed", c -> c.embed(embed), DEADLINES.unary()),
                // Before its first token: the caller gets a 504, not an event stream.
                new CutOff.Call<>("GenerateStream", c -> c.generateStream(generation), DEADLINES.stream()),
                new CutOff.Call<>("ListModels", InferenceClient::listModels, DEADLINES.listModels()),
                new CutOff.Call<>("Tokenize", c -> c.tokenize(tokenize, "r"), DEADLINES.tokenize()),
                new CutOff.Call<>("GetTokenizer", c -> c.getTokenizer(FakeInferenceService.CHAT_MODEL),
                        DEADLINES.tokenize()));
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("calls")
    void aHungInstanceIsCutOffAtTheCallsDeadlineWith504(CutOff.Call<InferenceClient> call)
            throws InterruptedException {
        CutOff.assertCutOff(call, client, hung.stall());
    }

    @Test
    void aHungInstanceIsPolledDownAtTheGetLoadDeadline() throws InterruptedException {
        long start = System.nanoTime();
        new LoadPoller(instances, PROPERTIES).pollAll().block(DEADLINES.getLoad().plus(CutOff.SLACK));

        assertThat(Duration.ofNanos(System.nanoTime() - start)).isGreaterThanOrEqualTo(DEADLINES.getLoad());
        assertThat(instances.all()).singleElement().satisfies(instance -> {
            assertThat(instance.load().health()).isEqualTo(InstancePicker.Health.DOWN);
            assertThat(instance.load().error()).contains("DEADLINE_EXCEEDED");
        });
        CutOff.assertAbandoned(hung.stall());
    }
}
