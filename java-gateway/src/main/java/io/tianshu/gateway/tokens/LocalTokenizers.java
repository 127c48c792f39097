package io.tianshu.gateway.tokens;

import io.micrometer.core.instrument.MeterRegistry;
import io.tianshu.gateway.backend.InferenceClient;
import io.tianshu.gateway.config.TianshuProperties;
import io.tianshu.inference.v1.ChatMessage;
import io.tianshu.inference.v1.Generation;
import io.tianshu.inference.v1.GetTokenizerResponse;
import io.tianshu.inference.v1.TokenizeRequest;
import io.tianshu.inference.v1.Tool;
import io.tianshu.inference.v1.ToolCall;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.OptionalInt;
import java.util.concurrent.ConcurrentHashMap;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.springframework.beans.factory.annotation.Autowired;
import org.springframework.stereotype.Component;
import reactor.core.publisher.Flux;
import reactor.core.publisher.Mono;
import reactor.core.publisher.Sinks;
import reactor.core.scheduler.Schedulers;

/**
 * The models whose prompts the gateway counts itself, saving a Tokenize call per request.
 *
 * <p>A model qualifies once the gateway has fetched its tokenizer and chat template
 * (GetTokenizer) and produced exactly the token ids the inference service's Tokenize produces
 * for a set of probe chats and prompts. Until then, and for good after a failed check, its
 * prompts are counted by Tokenize. Every call counted here is checked again when the service
 * reports the call's real prompt tokens ({@link #check}): one disagreement and the model goes
 * back to Tokenize for the life of this process, so a template the gateway renders
 * differently costs speed, never correctness for long.
 *
 * <p>Chats with tools, tool calls, tool results or speaker names are checked apart (probes of
 * their own, and a disagreement on one sends only such chats back to Tokenize): they exercise
 * parts of a template, and of its JSON, that plain chats never reach.
 */
@Component
public class LocalTokenizers {

    private static final Logger log = LoggerFactory.getLogger(LocalTokenizers.class);

    // A model whose tokenizer could not be fetched (the service was down, or too old to
    // serve GetTokenizer) is asked again after this long.
    private static final Duration RETRY_AFTER = Duration.ofMinutes(1);

    private final InferenceClient inference;
    private final boolean enabled;
    private final MeterRegistry meters;
    private final Clock clock;
    private final Map<String, State> models = new ConcurrentHashMap<>();

    @Autowired
    LocalTokenizers(InferenceClient inference, TianshuProperties properties, MeterRegistry meters) {
        this(inference, properties.inference().promptCounting() == TianshuProperties.PromptCounting.GATEWAY, meters,
                Clock.systemUTC());
    }

    LocalTokenizers(InferenceClient inference, boolean enabled, MeterRegistry meters, Clock clock) {
        this.inference = inference;
        this.enabled = enabled;
        this.meters = meters;
        this.clock = clock;
    }

    /**
     * The generation's prompt tokens counted here, or empty when they must be counted by the
     * inference service: counting in the gateway is off, this model's tokenizer is not (yet)
     * checked, or its template cannot render this chat. The first call for a model starts
     * fetching and checking its tokenizer, in the background.
     */
    public OptionalInt count(Generation generation) {
        if (!enabled) {
            return OptionalInt.empty();
        }
        State state = models.get(generation.getModel());
        if (state == null || state instanceof Failed failed && failed.retryAt().isBefore(clock.instant())) {
            prepare(generation.getModel()).subscribe();
            return OptionalInt.empty();
        }
        if (!(state instanceof Ready ready) || isToolChat(generation) && !ready.toolChats()) {
            return OptionalInt.empty();
        }
        try {
            return OptionalInt.of(generation.getMessagesCount() > 0
                    ? ready.tokenizer().chatCount(generation.getMessagesList(), generation.getToolsList())
                    : ready.tokenizer().promptIds(generation.getPrompt()).length);
        } catch (ChatTemplate.TemplateFailure e) {
            // Tokenize renders it with the real jinja2 and says what is wrong, if anything.
            log.debug("chat not rendered in the gateway for model {}: {}", generation.getModel(), e.getMessage());
            return OptionalInt.empty();
        }
    }

    /**
     * Whether the chat reaches the template's tool parts: tools, calls, results or a speaker's
     * name.
     */
    public static boolean isToolChat(Generation generation) {
        if (generation.getToolsCount() > 0) {
            return true;
        }
        for (ChatMessage message : generation.getMessagesList()) {
            if (message.getToolCallsCount() > 0 || !message.getToolCallId().isEmpty() || !message.getName().isEmpty()) {
                return true;
            }
        }
        return false;
    }

    /**
     * Compares a count made here with the prompt tokens the service reported for the same
     * call; on a difference the model's prompts (its tool chats only, when the call was one)
     * go back to being counted by Tokenize.
     */
    public void check(String model, boolean toolChat, int counted, int reported) {
        if (counted == reported) {
            return;
        }
        meters.counter("tianshu.gateway.prompt.count.mismatches", "model", model).increment();
        if (toolChat && models.get(model) instanceof Ready ready && ready.toolChats()
                && models.replace(model, ready, new Ready(ready.tokenizer(), false))) {
            log.warn("model {}: the gateway counted {} prompt tokens for a chat with tools where the inference service "
                    + "counted {}; its tool chats are counted by the inference service from now on", model, counted,
                    reported);
            return;
        }
        State before = models.put(model, new Refused("counted " + counted + " prompt tokens where the service counted "
                + reported));
        if (before instanceof Ready) {
            log.warn("model {}: the gateway counted {} prompt tokens where the inference service counted {}; its "
                    + "prompts are counted by the inference service from now on", model, counted, reported);
        }
    }

    /** Fetches and checks the model's tokenizer once, however many calls ask at the same time. */
    Mono<State> prepare(String model) {
        return Mono.defer(() -> {
            State current = models.get(model);
            if (current instanceof Loading loading) {
                return loading.result();
            }
            boolean retry = current instanceof Failed failed && failed.retryAt().isBefore(clock.instant());
            if (current != null && !retry) {
                return Mono.just(current);
            }
            Sinks.One<State> done = Sinks.one();
            Loading loading = new Loading(done.asMono());
            boolean mine = retry ? models.replace(model, current, loading) : models.putIfAbsent(model, loading) == null;
            if (!mine) {
                return prepare(model);
            }
            load(model).subscribe(state -> {
                models.put(model, state);
                done.tryEmitValue(state);
            });
            return done.asMono();
        });
    }

    private Mono<State> load(String model) {
        return inference.getTokenizer(model)
                // Loads a native library and parses megabytes of JSON: off the event loop.
                .publishOn(Schedulers.boundedElastic())
                .map(ModelTokenizer::of)
                .flatMap(tokenizer -> probe(model, tokenizer))
                .onErrorResume(e -> {
                    log.warn("model {}: its tokenizer could not be fetched or checked ({}); prompts are counted by "
                            + "the inference service, next try in {}", model, e.toString(), RETRY_AFTER);
                    return Mono.just(new Failed(clock.instant().plus(RETRY_AFTER)));
                });
    }

    private Mono<State> probe(String model, ModelTokenizer tokenizer) {
        Flux<String> differences = Flux.concat(
                Flux.fromIterable(Probes.CHATS).concatMap(chat -> compareChat(model, tokenizer, chat)),
                Flux.fromIterable(Probes.PROMPTS).concatMap(prompt -> compare(model, "prompt " + Probes.quote(prompt),
                        () -> tokenizer.promptIds(prompt),
                        TokenizeRequest.newBuilder().setModel(model).setPrompt(prompt))));
        Flux<String> toolDifferences = Flux.fromIterable(Probes.TOOL_CHATS)
                .concatMap(chat -> compareChat(model, tokenizer, chat));
        return differences.next()
                .<State>map(difference -> {
                    log.warn("model {}: the gateway's count differs from the inference service's for {}; its "
                            + "prompts are counted by the inference service", model, difference);
                    tokenizer.close();
                    return new Refused(difference);
                })
                .switchIfEmpty(toolDifferences.next()
                        .<State>map(difference -> {
                            log.info("model {}: prompts counted in the gateway, but for chats with tools (the counts "
                                    + "differ for {})", model, difference);
                            return new Ready(tokenizer, false);
                        })
                        .switchIfEmpty(Mono.fromSupplier(() -> {
                            log.info("model {}: prompts counted in the gateway (its tokenizer and chat template gave "
                                    + "the inference service's token ids for {} probe chats, {} with tools, and {} "
                                    + "prompts)", model, Probes.CHATS.size() + Probes.TOOL_CHATS.size(),
                                    Probes.TOOL_CHATS.size(), Probes.PROMPTS.size());
                            return new Ready(tokenizer, true);
                        })));
    }

    /** The ids, and the count made piece by piece that requests are counted with. */
    private Mono<String> compareChat(String model, ModelTokenizer tokenizer, Probes.Chat chat) {
        String probe = "chat " + Probes.describe(chat.messages());
        return compare(model, probe, () -> tokenizer.chatIds(chat.messages(), chat.tools()),
                TokenizeRequest.newBuilder().setModel(model).addAllMessages(chat.messages()).addAllTools(chat.tools()))
                .switchIfEmpty(Mono.fromSupplier(() -> {
                    int pieces = tokenizer.chatCount(chat.messages(), chat.tools());
                    int whole = tokenizer.chatIds(chat.messages(), chat.tools()).length;
                    return pieces == whole ? null
                            : probe + ": " + pieces + " tokens counted piece by piece, " + whole + " as a whole";
                }));
    }

    /** A description of the probe when the two counts differ, else nothing. */
    private Mono<String> compare(String model, String probe, IdsSupplier local, TokenizeRequest.Builder request) {
        int[] here;
        try {
            here = local.get();
        } catch (ChatTemplate.TemplateFailure e) {
            return Mono.just(probe + ": the template failed here (" + e.getMessage() + ")");
        }
        return inference.tokenize(request.setReturnTokenIds(true).build(), "")
                .mapNotNull(response -> {
                    int[] there = response.getTokenIdsList().stream().mapToInt(Integer::intValue).toArray();
                    return Arrays.equals(here, there) ? null
                            : probe + ": " + here.length + " tokens here, " + there.length + " by the service";
                });
    }

    @FunctionalInterface
    private interface IdsSupplier {
        int[] get();
    }

    sealed interface State permits Loading, Ready, Refused, Failed {
    }

    /** Being fetched and checked; result() is that work's outcome. */
    record Loading(Mono<State> result) implements State {
    }

    /** Counted here; chats with tools too when toolChats. */
    record Ready(ModelTokenizer tokenizer, boolean toolChats) implements State {
    }

    /** Counted by the service for the life of this process: the gateway's counts differed. */
    record Refused(String reason) implements State {
    }

    /** Not fetched or not checked; asked again after retryAt. */
    record Failed(Instant retryAt) implements State {
    }

    /** What a tokenizer is checked on: the shapes of chat and text that trip tokenizers up. */
    static final class Probes {

        /** A chat and the tools it is rendered with. */
        record Chat(List<ChatMessage> messages, List<Tool> tools) {
        }

        static final List<Chat> CHATS = List.of(
                chat("user", "Hello!"),
                chat("system", "You are a terse assistant.", "user", "Summarise: the cat sat on the mat."),
                chat("user", "What is 2+2?", "assistant", "4.", "user", "And times three?"),
                chat("system", "Answer in French.", "user", "Hi", "assistant", "Bonjour !", "user",
                        "Merci, à bientôt."),
                chat("user", "  leading and trailing spaces  \n\n\ttabs\tand\r\nCRLF\n"),
                chat("user", "中文的问题：今天天气怎么样？ 日本語も。 한국어도. Emoji 🚀🔥 and ünïcödé ñ."),
                chat("user", "Code:\n```python\ndef f(x):\n    return {\"a\": [1, 2]}\n```"),
                chat("user", "Literal special tokens: <|im_start|> <|im_end|> <|endoftext|> <s> </s> [INST]"),
                chat("user", "a"),
                chat("developer", "Be brief.", "user", "Why is the sky blue?"),
                chat("user", "word ".repeat(300).strip()));

        private static final Tool WEATHER = Tool.newBuilder().setName("get_weather")
                .setDescription("Current weather in a city")
                .setParametersJson("{\"type\":\"object\",\"properties\":{\"city\":{\"type\":\"string\","
                        + "\"description\":\"城市 name, e.g. \\\"Paris\\\"\\n\\u0001\"},\"unit\":{\"enum\":[\"c\",\"f\"]},"
                        + "\"days\":{\"type\":\"integer\",\"minimum\":1,\"maximum\":7.50}},\"required\":[\"city\"]}")
                .build();
        private static final Tool NOW = Tool.newBuilder().setName("now").build();

        static final List<Chat> TOOL_CHATS = List.of(
                new Chat(chat("user", "Weather in Paris?").messages(), List.of(WEATHER, NOW)),
                new Chat(chat("system", "Be brief.", "user", "Hi").messages(), List.of(WEATHER)),
                new Chat(List.of(
                        message("user", "Weather in Paris and the time?"),
                        message("assistant", "").toBuilder()
                                .addToolCalls(ToolCall.newBuilder().setId("call_1").setName("get_weather")
                                        .setArguments("{\"city\": \"Paris\",\"days\":2,\"x\":0.25,\"ok\":true,\"n\":null}"))
                                .addToolCalls(ToolCall.newBuilder().setId("call_2").setName("now")
                                        .setArguments("not json"))
                                .build(),
                        message("tool", "18 C").toBuilder().setToolCallId("call_1").build(),
                        message("tool", "12:00").toBuilder().setToolCallId("call_2").build()),
                        List.of(WEATHER, NOW)),
                new Chat(List.of(message("user", "Hello").toBuilder().setName("ada").build()), List.of()));

        static final List<String> PROMPTS = List.of(
                "Hello",
                " leading space",
                "The capital of France is",
                "Line one\nLine two\n\n",
                "中文 and 🚀 and ünïcödé",
                "<|im_start|>user\nraw template text<|im_end|>");

        private static Chat chat(String... roleThenContent) {
            ChatMessage[] messages = new ChatMessage[roleThenContent.length / 2];
            for (int i = 0; i < messages.length; i++) {
                messages[i] = message(roleThenContent[2 * i], roleThenContent[2 * i + 1]);
            }
            return new Chat(List.of(messages), List.of());
        }

        private static ChatMessage message(String role, String content) {
            return ChatMessage.newBuilder().setRole(role).setContent(content).build();
        }

        static String describe(List<ChatMessage> chat) {
            return chat.stream().map(m -> m.getRole() + ": " + quote(m.getContent())).toList().toString();
        }

        static String quote(String text) {
            String shown = text.length() > 40 ? text.substring(0, 40) + "..." : text;
            return '"' + shown.replace("\n", "\\n") + '"';
        }

        private Probes() {
        }
    }
}
