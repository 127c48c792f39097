package io.tianshu.gateway.tokens;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.tianshu.inference.v1.ChatMessage;
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

        assertThat(template.render(ONE)).isEqualTo("<|im_start|>system\nYou are a helpful AI assistant named SmolLM, "
                + "trained by Hugging Face<|im_end|>\n<|im_start|>user\nHello!<|im_end|>\n<|im_start|>assistant\n");
        assertThat(template.render(MULTI)).isEqualTo("<|im_start|>system\nBe brief.<|im_end|>\n<|im_start|>user\n"
                + "  Hi  <|im_end|>\n<|im_start|>assistant\nHello.<|im_end|>\n<|im_start|>user\nAgain\n<|im_end|>\n"
                + "<|im_start|>assistant\n");
    }

    @Test
    void llama3() {
        ChatTemplate template = new ChatTemplate(LLAMA3, SPECIAL);

        assertThat(template.render(ONE)).isEqualTo("<s><|start_header_id|>user<|end_header_id|>\n\nHello!<|eot_id|>"
                + "<|start_header_id|>assistant<|end_header_id|>\n\n");
        assertThat(template.render(MULTI)).isEqualTo("<s><|start_header_id|>system<|end_header_id|>\n\nBe brief."
                + "<|eot_id|><|start_header_id|>user<|end_header_id|>\n\nHi<|eot_id|><|start_header_id|>assistant"
                + "<|end_header_id|>\n\nHello.<|eot_id|><|start_header_id|>user<|end_header_id|>\n\nAgain<|eot_id|>"
                + "<|start_header_id|>assistant<|end_header_id|>\n\n");
    }

    @Test
    void mistralRendersAlternatingChatsAndRefusesTheRest() {
        ChatTemplate template = new ChatTemplate(MISTRAL, SPECIAL);

        assertThat(template.render(ALTERNATING)).isEqualTo("<s>[INST] Hi [/INST]Yo</s>[INST] Bye [/INST]");
        assertThatThrownBy(() -> template.render(MULTI)).isInstanceOf(ChatTemplate.TemplateFailure.class);
    }

    @Test
    void blockTagsOnTheirOwnLines() {
        ChatTemplate template = new ChatTemplate(CHATML_BLOCKS, SPECIAL);

        assertThat(template.render(ALTERNATING)).isEqualTo("<|im_start|>system\nYou are helpful.<|im_end|>\n"
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
        String alone = template.render(MULTI);
        ExecutorService threads = Executors.newFixedThreadPool(8);
        try {
            List<Future<String>> renders = threads.invokeAll(java.util.Collections.nCopies(2000,
                    () -> template.render(MULTI)));
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
