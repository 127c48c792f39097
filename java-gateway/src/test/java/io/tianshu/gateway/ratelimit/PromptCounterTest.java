package io.tianshu.gateway.ratelimit;

import static org.assertj.core.api.Assertions.assertThat;
import static org.mockito.ArgumentMatchers.any;
import static org.mockito.Mockito.mock;
import static org.mockito.Mockito.when;

import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import io.tianshu.gateway.backend.TestInferenceClients;
import io.tianshu.gateway.support.FakeInferenceService;
import io.tianshu.gateway.support.InProcessGrpc;
import io.tianshu.gateway.tokens.LocalTokenizers;
import io.tianshu.inference.v1.ChatMessage;
import io.tianshu.inference.v1.Generation;
import io.tianshu.inference.v1.Model;
import io.tianshu.inference.v1.TokenizeRequest;
import io.tianshu.inference.v1.Tool;
import io.tianshu.inference.v1.ToolCall;
import java.util.List;
import java.util.OptionalInt;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * What a prompt counted in the gateway and one left to Tokenize become: with a gateway
 * tokenizer ready for the model (42 tokens for anything), a chat, tools and all, goes on as it
 * came; one the gateway's tokenizer declines goes to Tokenize with its tools and on as ids.
 */
class PromptCounterTest {

    private static final Model MODEL = Model.newBuilder().setId(FakeInferenceService.CHAT_MODEL)
            .setContextLength(2048).build();
    private static final ChatMessage USER = ChatMessage.newBuilder().setRole("user").setContent("Weather?").build();
    private static final Tool WEATHER = Tool.newBuilder().setName("get_weather")
            .setParametersJson("{\"type\":\"object\"}").build();
    private static final ToolCall CALL = ToolCall.newBuilder().setId("call_1").setName("get_weather")
            .setArguments("{}").build();

    private final FakeInferenceService service = new FakeInferenceService();
    private final LocalTokenizers local = mock(LocalTokenizers.class);
    private InProcessGrpc grpc;
    private PromptCounter counter;

    @BeforeEach
    void start() throws Exception {
        grpc = InProcessGrpc.serving(service);
        when(local.count(any())).thenReturn(OptionalInt.of(42));
        counter = new PromptCounter(TestInferenceClients.over(grpc.channel()), local, new SimpleMeterRegistry());
    }

    @AfterEach
    void stop() {
        grpc.close();
    }

    private static Generation.Builder chat(ChatMessage... messages) {
        return Generation.newBuilder().setModel(MODEL.getId()).addAllMessages(List.of(messages));
    }

    @Test
    void aPlainChatIsCountedInTheGateway() {
        PromptCounter.CountedGeneration counted = counter.generation(chat(USER).build(), MODEL).block();

        assertThat(counted.countedHere()).isTrue();
        assertThat(counted.estimate().promptTokens()).isEqualTo(42);
        assertThat(service.tokenizeCalls.get()).isZero();
    }

    static Stream<Arguments> renderedByTheServiceOnly() {
        ChatMessage called = ChatMessage.newBuilder().setRole("assistant").addToolCalls(CALL).build();
        ChatMessage result = ChatMessage.newBuilder().setRole("tool").setContent("18 C").setToolCallId("call_1")
                .build();
        return Stream.of(
                Arguments.of("tools", chat(USER).addTools(WEATHER).build()),
                Arguments.of("an assistant turn with calls", chat(USER, called).build()),
                Arguments.of("a tool turn", chat(USER, result).build()),
                Arguments.of("a named speaker", chat(USER.toBuilder().setName("ada").build()).build()));
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("renderedByTheServiceOnly")
    void aToolChatCountedHereGoesOnAsItCameWithItsTools(String what, Generation generation) {
        PromptCounter.CountedGeneration counted = counter.generation(generation, MODEL).block();

        assertThat(counted.countedHere()).isTrue();
        assertThat(counted.estimate().promptTokens()).isEqualTo(42);
        assertThat(counted.generation()).isEqualTo(generation);
        assertThat(service.tokenizeCalls.get()).isZero();
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("renderedByTheServiceOnly")
    void aToolChatTheGatewayCannotCountIsCountedByTokenizeWithItsTools(String what, Generation generation) {
        when(local.count(any())).thenReturn(OptionalInt.empty());

        PromptCounter.CountedGeneration counted = counter.generation(generation, MODEL).block();

        assertThat(counted.countedHere()).isFalse();
        assertThat(counted.estimate().promptTokens()).isEqualTo(FakeInferenceService.PROMPT_TOKENS);
        TokenizeRequest asked = service.lastTokenize.get();
        assertThat(asked.getMessagesList()).isEqualTo(generation.getMessagesList());
        assertThat(asked.getToolsList()).isEqualTo(generation.getToolsList());
        // Sent on as the ids Tokenize rendered, the tools kept beside them.
        assertThat(counted.generation().getMessagesCount()).isZero();
        assertThat(counted.generation().getPromptTokenIdsCount()).isEqualTo(FakeInferenceService.PROMPT_TOKENS);
        assertThat(counted.generation().getToolsList()).isEqualTo(generation.getToolsList());
    }
}
