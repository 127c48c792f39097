package io.tianshu.gateway.tokens;

import static org.assertj.core.api.Assertions.assertThat;

import com.google.protobuf.ByteString;
import io.grpc.Status;
import io.grpc.stub.StreamObserver;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import io.tianshu.gateway.backend.TestInferenceClients;
import io.tianshu.gateway.support.InProcessGrpc;
import io.tianshu.gateway.support.MutableClock;
import io.tianshu.inference.v1.ChatMessage;
import io.tianshu.inference.v1.Generation;
import io.tianshu.inference.v1.GetTokenizerRequest;
import io.tianshu.inference.v1.GetTokenizerResponse;
import io.tianshu.inference.v1.InferenceServiceGrpc;
import io.tianshu.inference.v1.TokenizeRequest;
import io.tianshu.inference.v1.TokenizeResponse;
import io.tianshu.inference.v1.Tool;
import java.io.IOException;
import java.io.InputStream;
import java.time.Duration;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * When the gateway counts a model's prompts itself and when it leaves them to Tokenize: a
 * tokenizer is trusted only after its ids matched Tokenize's for every probe, and only until
 * one call's reported prompt tokens differ from its count.
 */
class LocalTokenizersTest {

    static final String MODEL = "word-chat";
    static final String TEMPLATE = "{% for message in messages %}{{'<|im_start|>' + message['role'] + '\\n' "
            + "+ message['content'] + '<|im_end|>' + '\\n'}}{% endfor %}"
            + "{% if add_generation_prompt %}{{ '<|im_start|>assistant\\n' }}{% endif %}";

    private final TokenizingInference service = new TokenizingInference();
    private final MutableClock clock = new MutableClock();
    private final SimpleMeterRegistry meters = new SimpleMeterRegistry();
    private InProcessGrpc grpc;
    private LocalTokenizers tokenizers;

    @BeforeEach
    void start() throws Exception {
        grpc = InProcessGrpc.serving(service);
        tokenizers = new LocalTokenizers(TestInferenceClients.over(grpc.channel()), true, meters, clock);
    }

    @AfterEach
    void stop() {
        grpc.close();
    }

    @Test
    void countsInTheGatewayOnceItsIdsMatchTokenizeForEveryProbe() {
        Generation chat = chat("user", "Hello, the cat sat on the mat!");
        assertThat(tokenizers.count(chat)).as("not checked yet").isEmpty();

        assertThat(tokenizers.prepare(MODEL).block()).isInstanceOf(LocalTokenizers.Ready.class);
        assertThat(tokenizers.count(chat)).hasValue(service.count(chat.getMessagesList(), List.of(), ""));
        Generation prompt = Generation.newBuilder().setModel(MODEL).setPrompt("the cat: hello").build();
        assertThat(tokenizers.count(prompt)).hasValue(service.count(List.of(), List.of(), "the cat: hello"));
        Generation withTools = toolChat("the weather");
        assertThat(tokenizers.count(withTools))
                .hasValue(service.count(withTools.getMessagesList(), withTools.getToolsList(), ""));
        assertThat(service.getTokenizerCalls).hasValue(1);
        assertThat(service.tokenizeCalls).hasValue(LocalTokenizers.Probes.CHATS.size()
                + LocalTokenizers.Probes.TOOL_CHATS.size() + LocalTokenizers.Probes.PROMPTS.size());
    }

    @Test
    void aModelWhoseIdsDifferOnAToolProbeCountsOnlyPlainChatsHere() {
        service.offByOneFor.set("Paris");

        assertThat(tokenizers.prepare(MODEL).block()).isInstanceOfSatisfying(LocalTokenizers.Ready.class,
                ready -> assertThat(ready.toolChats()).isFalse());
        assertThat(tokenizers.count(chat("user", "hello"))).isPresent();
        assertThat(tokenizers.count(toolChat("hello"))).isEmpty();
        Generation named = chat("user", "hello").toBuilder()
                .setMessages(0, ChatMessage.newBuilder().setRole("user").setContent("hello").setName("ada")).build();
        assertThat(tokenizers.count(named)).as("a speaker's name reaches the template's tool parts").isEmpty();
    }

    @Test
    void oneToolChatWhoseReportedPromptDiffersSendsOnlyToolChatsBackToTokenize() {
        tokenizers.prepare(MODEL).block();
        Generation withTools = toolChat("hello");
        int counted = tokenizers.count(withTools).orElseThrow();

        tokenizers.check(MODEL, true, counted, counted + 1);
        assertThat(tokenizers.count(withTools)).isEmpty();
        assertThat(tokenizers.count(chat("user", "hello"))).isPresent();
        assertThat(meters.counter("tianshu.gateway.prompt.count.mismatches", "model", MODEL).count()).isEqualTo(1);
    }

    @Test
    void aModelWhoseIdsDifferOnOneProbeStaysWithTokenize() {
        service.offByOneFor.set("French");

        assertThat(tokenizers.prepare(MODEL).block()).isInstanceOf(LocalTokenizers.Refused.class);
        assertThat(tokenizers.count(chat("user", "hello"))).isEmpty();
        assertThat(service.getTokenizerCalls).as("not asked again").hasValue(1);
    }

    @Test
    void aTokenizerThatCouldNotBeFetchedIsAskedForAgainAMinuteLater() {
        service.serveTokenizer.set(false);
        assertThat(tokenizers.prepare(MODEL).block()).isInstanceOf(LocalTokenizers.Failed.class);
        service.serveTokenizer.set(true);

        assertThat(tokenizers.count(chat("user", "hello"))).isEmpty();
        assertThat(service.getTokenizerCalls).as("not before the minute is up").hasValue(1);
        clock.advance(Duration.ofSeconds(61));
        assertThat(tokenizers.count(chat("user", "hello"))).as("this call starts the second fetch").isEmpty();
        assertThat(tokenizers.prepare(MODEL).block()).isInstanceOf(LocalTokenizers.Ready.class);
        assertThat(service.getTokenizerCalls).hasValue(2);
    }

    @Test
    void oneCallWhoseReportedPromptDiffersSendsTheModelBackToTokenize() {
        tokenizers.prepare(MODEL).block();
        Generation chat = chat("user", "hello");
        int counted = tokenizers.count(chat).orElseThrow();

        tokenizers.check(MODEL, false, counted, counted);
        assertThat(tokenizers.count(chat)).as("agreement changes nothing").hasValue(counted);
        tokenizers.check(MODEL, false, counted, counted + 1);
        assertThat(tokenizers.count(chat)).isEmpty();
        assertThat(meters.counter("tianshu.gateway.prompt.count.mismatches", "model", MODEL).count()).isEqualTo(1);
    }

    @Test
    void aChatTheTemplateCannotRenderIsLeftToTokenizeAndTheModelStaysLocal() {
        service.template = "{% for message in messages %}{% if message['role'] == 'tool' %}"
                + "{{ raise_exception('no tools here') }}{% endif %}" + TEMPLATE.substring(TEMPLATE.indexOf("{{"));
        tokenizers.prepare(MODEL).block();

        assertThat(tokenizers.count(chat("tool", "42"))).isEmpty();
        assertThat(tokenizers.count(chat("user", "hello"))).isPresent();
    }

    @Test
    void switchedOffItNeverAsksForATokenizer() {
        LocalTokenizers off = new LocalTokenizers(TestInferenceClients.over(grpc.channel()), false, meters, clock);

        assertThat(off.count(chat("user", "hello"))).isEmpty();
        assertThat(service.getTokenizerCalls).hasValue(0);
    }

    static Generation chat(String role, String content) {
        return Generation.newBuilder().setModel(MODEL)
                .addMessages(ChatMessage.newBuilder().setRole(role).setContent(content)).build();
    }

    static Generation toolChat(String content) {
        return chat("user", content).toBuilder()
                .addTools(Tool.newBuilder().setName("get_weather").setParametersJson("{\"type\":\"object\"}")).build();
    }

    /**
     * Serves a word-level tokenizer and TEMPLATE, and a Tokenize that counts with them (the
     * real template engine and tokenizer are checked against each other in the cross-service
     * tests); it can be told to be off by one for chats containing a word.
     */
    static final class TokenizingInference extends InferenceServiceGrpc.InferenceServiceImplBase {
        final AtomicInteger getTokenizerCalls = new AtomicInteger();
        final AtomicInteger tokenizeCalls = new AtomicInteger();
        final AtomicBoolean serveTokenizer = new AtomicBoolean(true);
        final java.util.concurrent.atomic.AtomicReference<String> offByOneFor =
                new java.util.concurrent.atomic.AtomicReference<>();
        volatile String template = TEMPLATE;

        GetTokenizerResponse definition() {
            try (InputStream json = LocalTokenizersTest.class.getResourceAsStream("/tokens/word-level-tokenizer.json")) {
                return GetTokenizerResponse.newBuilder().setModel(MODEL).setTokenizerJson(ByteString.readFrom(json))
                        .setChatTemplate(template).putTemplateVariables("eos_token", "<|im_end|>")
                        .setContextLength(2048).build();
            } catch (IOException e) {
                throw new IllegalStateException(e);
            }
        }

        int count(List<ChatMessage> messages, List<Tool> tools, String prompt) {
            try (ModelTokenizer tokenizer = ModelTokenizer.of(definition())) {
                int ids = messages.isEmpty() ? tokenizer.promptIds(prompt).length
                        : tokenizer.chatIds(messages, tools).length;
                String word = offByOneFor.get();
                boolean sabotaged = word != null && messages.stream().anyMatch(m -> m.getContent().contains(word));
                return sabotaged ? ids + 1 : ids;
            }
        }

        @Override
        public void getTokenizer(GetTokenizerRequest request, StreamObserver<GetTokenizerResponse> responses) {
            getTokenizerCalls.incrementAndGet();
            if (!serveTokenizer.get()) {
                responses.onError(Status.UNIMPLEMENTED.asRuntimeException());
                return;
            }
            responses.onNext(definition());
            responses.onCompleted();
        }

        @Override
        public void tokenize(TokenizeRequest request, StreamObserver<TokenizeResponse> responses) {
            tokenizeCalls.incrementAndGet();
            int count = count(request.getMessagesList(), request.getToolsList(), request.getPrompt());
            int[] ids = new int[count];
            Arrays.fill(ids, 2);
            TokenizeResponse.Builder response = TokenizeResponse.newBuilder().setTokenCount(count).setContextLength(2048);
            try (ModelTokenizer tokenizer = ModelTokenizer.of(definition())) {
                int[] real = request.getMessagesCount() > 0 ? tokenizer.chatIds(request.getMessagesList(), request.getToolsList())
                        : tokenizer.promptIds(request.getPrompt());
                System.arraycopy(real, 0, ids, 0, Math.min(real.length, count));
            }
            Arrays.stream(ids).forEach(response::addTokenIds);
            responses.onNext(response.build());
            responses.onCompleted();
        }
    }
}
