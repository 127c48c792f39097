package io.tianshu.gateway.tokens;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.tianshu.inference.v1.ChatMessage;
import io.tianshu.inference.v1.Tool;
import io.tianshu.inference.v1.ToolCall;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import org.junit.jupiter.api.Test;

/**
 * Chat templates of the common families, rendered here and by transformers'
 * apply_chat_template (jinja2); the expected strings are what jinja2 rendered.
 */
class ChatTemplateTest {

    static final Map<String, String> SPECIAL = Map.of("bos_token", "<s>", "eos_token", "</s>");

    /** SmolLM2's own, the default model's: a default system prompt when the chat has none. */
    static final String SMOLLM2 = "{% for message in messages %}{% if loop.first and messages[0]['role'] != 'system' %}"
            + "{{ '<|im_start|>system\nYou are a helpful AI assistant named SmolLM, trained by Hugging Face<|im_end|>\n' }}"
            + "{% endif %}{{'<|im_start|>' + message['role'] + '\n' + message['content'] + '<|im_end|>' + '\n'}}"
            + "{% endfor %}{% if add_generation_prompt %}{{ '<|im_start|>assistant\n' }}{% endif %}";

    /** Llama 3's shape: whitespace control on indented lines, a filter inside a concatenation. */
    static final String LLAMA3 = """
            {{- bos_token }}
            {%- for message in messages %}
                {{- '<|start_header_id|>' + message['role'] + '<|end_header_id|>\\n\\n' + message['content'] | trim + '<|eot_id|>' }}
            {%- endfor %}
            {%- if add_generation_prompt %}
                {{- '<|start_header_id|>assistant<|end_header_id|>\\n\\n' }}
            {%- endif %}
            """;

    /** Mistral's shape: it refuses chats whose roles do not alternate. */
    static final String MISTRAL = "{{ bos_token }}{% for message in messages %}"
            + "{% if (message['role'] == 'user') != (loop.index0 % 2 == 0) %}"
            + "{{ raise_exception('Conversation roles must alternate user/assistant/user/assistant/...') }}{% endif %}"
            + "{% if message['role'] == 'user' %}{{ '[INST] ' + message['content'] + ' [/INST]' }}"
            + "{% elif message['role'] == 'assistant' %}{{ message['content'] + eos_token }}"
            + "{% else %}{{ raise_exception('Only user and assistant roles are supported!') }}{% endif %}{% endfor %}";

    /** Block tags on lines of their own, as trim_blocks and lstrip_blocks are there for. */
    static final String CHATML_BLOCKS = """
            {% for message in messages %}
                {% if loop.first and message['role'] != 'system' %}
            <|im_start|>system
            You are helpful.<|im_end|>
                {% endif %}
            <|im_start|>{{ message['role'] }}
            {{ message['content'] }}<|im_end|>
            {% endfor %}
            {% if add_generation_prompt %}
            <|im_start|>assistant
            {% endif %}
            """;

    static final List<ChatMessage> ONE = List.of(message("user", "Hello!"));
    static final List<ChatMessage> MULTI = List.of(message("system", "Be brief."), message("user", "  Hi  "),
            message("assistant", "Hello."), message("user", "Again\n"));
    static final List<ChatMessage> ALTERNATING = List.of(message("user", "Hi"), message("assistant", "Yo"),
            message("user", "Bye"));

    @Test
    void smolLm2() {
        ChatTemplate template = new ChatTemplate(SMOLLM2, SPECIAL);

        assertThat(template.render(ONE, List.of())).isEqualTo("<|im_start|>system\nYou are a helpful AI assistant named SmolLM, "
                + "trained by Hugging Face<|im_end|>\n<|im_start|>user\nHello!<|im_end|>\n<|im_start|>assistant\n");
        assertThat(template.render(MULTI, List.of())).isEqualTo("<|im_start|>system\nBe brief.<|im_end|>\n<|im_start|>user\n"
                + "  Hi  <|im_end|>\n<|im_start|>assistant\nHello.<|im_end|>\n<|im_start|>user\nAgain\n<|im_end|>\n"
                + "<|im_start|>assistant\n");
    }

    /** The inference service's default template for SmolLM2, the one with tools, as it ships. */
    static final Path SMOLLM2_TOOLS = Path.of("..", "python-inference", "src", "tianshu_inference", "chat_templates",
            "smollm2-tools.jinja");

    static final Tool WEATHER = Tool.newBuilder().setName("get_weather").setDescription("Current weather in a city")
            .setParametersJson("{\"type\":\"object\",\"properties\":{\"city\":{\"type\":\"string\","
                    + "\"description\":\"城市 name, e.g. \\\"Paris\\\"\\n\"},\"unit\":{\"type\":\"string\","
                    + "\"enum\":[\"c\",\"f\"]},\"days\":{\"type\":\"integer\",\"minimum\":1,\"maximum\":7.50}},"
                    + "\"required\":[\"city\"]}")
            .build();
    static final Tool NOW = Tool.newBuilder().setName("now").build();

    // What jinja2 rendered (transformers' apply_chat_template, tools in OpenAI's shape) up to
    // the tools, and from them to the first turn.
    static final String TOOLS_PREAMBLE = "<|im_start|>system\nYou are an expert in composing functions. You are given a "
            + "question and a set of possible functions. Based on the question, you will need to make one or more "
            + "function/tool calls to achieve the purpose. If none of the functions can be used, point it out and "
            + "refuse to answer. If the given question lacks the parameters required by the function, also point it "
            + "out.\n\nYou have access to the following tools:\n<tools>";
    static final String TOOLS_JSON = "[{\"type\": \"function\", \"function\": {\"name\": \"get_weather\", "
            + "\"description\": \"Current weather in a city\", \"parameters\": {\"type\": \"object\", \"properties\": "
            + "{\"city\": {\"type\": \"string\", \"description\": \"城市 name, e.g. \\\"Paris\\\"\\n\"}, \"unit\": "
            + "{\"type\": \"string\", \"enum\": [\"c\", \"f\"]}, \"days\": {\"type\": \"integer\", \"minimum\": 1, "
            + "\"maximum\": 7.5}}, \"required\": [\"city\"]}}}, {\"type\": \"function\", \"function\": "
            + "{\"name\": \"now\", \"description\": \"\"}}]";
    static final String TOOLS_FORMAT = "</tools>\n\nThe output MUST strictly adhere to the following format, and NO "
            + "other text MUST be included.\nThe example format is as follows. Please make sure the parameter type is "
            + "correct. If no function call is needed, please make the tool calls an empty list '[]'.\n<tool_call>[\n"
            + "{\"name\": \"func_name1\", \"arguments\": {\"argument1\": \"value1\", \"argument2\": \"value2\"}},\n"
            + "... (more tool calls as required)\n]</tool_call>";

    @Test
    void smolLm2WithToolsRendersTheToolsAndCallsAsJinja2AndPythonsJsonDo() throws IOException {
        ChatTemplate template = new ChatTemplate(Files.readString(SMOLLM2_TOOLS), SPECIAL);

        assertThat(template.render(ONE, List.of(WEATHER, NOW))).isEqualTo(TOOLS_PREAMBLE + TOOLS_JSON + TOOLS_FORMAT
                + "<|im_end|>\n<|im_start|>user\nHello!<|im_end|>\n<|im_start|>assistant\n");
        assertThat(template.render(List.of(message("system", "Be brief."), message("user", "Hi")), List.of(WEATHER, NOW)))
                .isEqualTo(TOOLS_PREAMBLE + TOOLS_JSON + TOOLS_FORMAT + "\n\nBe brief.<|im_end|>\n<|im_start|>user\n"
                        + "Hi<|im_end|>\n<|im_start|>assistant\n");
        List<ChatMessage> roundTrip = List.of(message("user", "Weather in Paris?"),
                message("assistant", "").toBuilder()
                        .addToolCalls(ToolCall.newBuilder().setId("call_1").setName("get_weather")
                                .setArguments("{\"city\":\"Paris\",\"days\":2,\"x\":0.25,\"ok\":true,\"n\":null}"))
                        .addToolCalls(ToolCall.newBuilder().setId("call_2").setName("now").setArguments("not json"))
                        .build(),
                message("tool", "18 C").toBuilder().setToolCallId("call_1").build(),
                message("tool", "12:00").toBuilder().setToolCallId("call_2").build());
        assertThat(template.render(roundTrip, List.of(WEATHER, NOW))).isEqualTo(TOOLS_PREAMBLE + TOOLS_JSON
                + TOOLS_FORMAT + "<|im_end|>\n<|im_start|>user\nWeather in Paris?<|im_end|>\n<|im_start|>assistant\n"
                + "<tool_call>[{\"name\": \"get_weather\", \"arguments\": {\"city\": \"Paris\", \"days\": 2, "
                + "\"x\": 0.25, \"ok\": true, \"n\": null}}, {\"name\": \"now\", \"arguments\": \"not json\"}]"
                + "</tool_call><|im_end|>\n<|im_start|>tool\n18 C<|im_end|>\n<|im_start|>tool\n12:00<|im_end|>\n"
                + "<|im_start|>assistant\n");
    }

    @Test
    void aFloatWhosePythonReprIsNotWorkedOutHereFailsTheRenderRatherThanGuess() throws IOException {
        ChatTemplate template = new ChatTemplate(Files.readString(SMOLLM2_TOOLS), SPECIAL);
        Tool exponent = NOW.toBuilder().setParametersJson("{\"type\":\"object\",\"maximum\":1e-7}").build();

        assertThatThrownBy(() -> template.render(ONE, List.of(exponent)))
                .isInstanceOf(ChatTemplate.TemplateFailure.class).hasMessageContaining("1E-7");
    }

    @Test
    void llama3() {
        ChatTemplate template = new ChatTemplate(LLAMA3, SPECIAL);

        assertThat(template.render(ONE, List.of())).isEqualTo("<s><|start_header_id|>user<|end_header_id|>\n\nHello!<|eot_id|>"
                + "<|start_header_id|>assistant<|end_header_id|>\n\n");
        assertThat(template.render(MULTI, List.of())).isEqualTo("<s><|start_header_id|>system<|end_header_id|>\n\nBe brief."
                + "<|eot_id|><|start_header_id|>user<|end_header_id|>\n\nHi<|eot_id|><|start_header_id|>assistant"
                + "<|end_header_id|>\n\nHello.<|eot_id|><|start_header_id|>user<|end_header_id|>\n\nAgain<|eot_id|>"
                + "<|start_header_id|>assistant<|end_header_id|>\n\n");
    }

    @Test
    void mistralRendersAlternatingChatsAndRefusesTheRest() {
        ChatTemplate template = new ChatTemplate(MISTRAL, SPECIAL);

        assertThat(template.render(ALTERNATING, List.of())).isEqualTo("<s>[INST] Hi [/INST]Yo</s>[INST] Bye [/INST]");
        assertThatThrownBy(() -> template.render(MULTI, List.of())).isInstanceOf(ChatTemplate.TemplateFailure.class);
    }

    @Test
    void blockTagsOnTheirOwnLines() {
        ChatTemplate template = new ChatTemplate(CHATML_BLOCKS, SPECIAL);

        assertThat(template.render(ALTERNATING, List.of())).isEqualTo("<|im_start|>system\nYou are helpful.<|im_end|>\n"
                + "<|im_start|>user\nHi<|im_end|>\n<|im_start|>assistant\nYo<|im_end|>\n<|im_start|>user\nBye"
                + "<|im_end|>\n<|im_start|>assistant\n");
    }

    @Test
    void aTemplateThatDoesNotParseIsRefusedUpFront() {
        assertThatThrownBy(() -> new ChatTemplate("{% for message in messages %}never closed", SPECIAL))
                .isInstanceOf(ChatTemplate.TemplateFailure.class);
    }

    @Test
    void rendersOnManyThreadsAtOnceGiveWhatOneThreadGives() throws Exception {
        ChatTemplate template = new ChatTemplate(LLAMA3, SPECIAL);
        String alone = template.render(MULTI, List.of());
        ExecutorService threads = Executors.newFixedThreadPool(8);
        try {
            List<Future<String>> renders = threads.invokeAll(java.util.Collections.nCopies(2000,
                    () -> template.render(MULTI, List.of())));
            for (Future<String> render : renders) {
                assertThat(render.get()).isEqualTo(alone);
            }
        } finally {
            threads.shutdownNow();
        }
    }

    static ChatMessage message(String role, String content) {
        return ChatMessage.newBuilder().setRole(role).setContent(content).build();
    }
}
