package io.tianshu.gateway.tokens;

import static org.assertj.core.api.Assertions.assertThat;

import ai.djl.huggingface.tokenizers.HuggingFaceTokenizer;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.google.protobuf.ByteString;
import io.tianshu.inference.v1.ChatMessage;
import io.tianshu.inference.v1.GetTokenizerResponse;
import io.tianshu.inference.v1.Tool;
import java.io.IOException;
import java.io.InputStream;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import org.junit.jupiter.api.Test;

/**
 * A text counted piece by piece between its added tokens gives the count of the whole text,
 * on a byte-level BPE tokenizer of the kind chat models ship (trained for this test, with
 * {@code <|im} as an added token too, so that leftmost-longest matching matters).
 */
class AddedTokenSplitTest {

    private static final ObjectMapper JSON = new ObjectMapper();
    private static final String BPE = "/tokens/byte-level-bpe-tokenizer.json";

    private static ByteString resource(String name) {
        try (InputStream in = AddedTokenSplitTest.class.getResourceAsStream(name)) {
            return ByteString.readFrom(in);
        } catch (IOException e) {
            throw new IllegalStateException(e);
        }
    }

    private static int whole(HuggingFaceTokenizer tokenizer, String text) {
        return tokenizer.encode(text, false, false).getIds().length;
    }

    @ParameterizedTest
    @ValueSource(strings = {
        "<|im_start|>user\nWhat is the weather like in Paris right now?<|im_end|>\n<|im_start|>assistant\n",
        "<|im_start|><|im_end|><|im_start|>",
        "no added token at all, only words and  double  spaces",
        "<|im_start|>system\nTools: [{\"name\": \"get_weather\"}]<|im_end|>",
        "ends with the prefix of a token <|im",
        "<|im_sta is not a token, <|im is, <|im_start|> is the longer one",
        "<|im<|im_start|><|im_end|x",
        "中文的问题：今天天气怎么样？<|im_end|>\n🚀 ünïcödé\t\r\n",
        " leading space<|endoftext|> trailing space ",
        "",
    })
    void piecesCountAsTheWholeText(String text) throws IOException {
        ByteString definition = resource(BPE);
        try (HuggingFaceTokenizer tokenizer = HuggingFaceTokenizer.newInstance(definition.newInput(),
                Map.of("truncation", "false", "padding", "false"))) {
            AddedTokenSplit split = AddedTokenSplit.of(definition).orElseThrow();

            assertThat(split.count(text, piece -> whole(tokenizer, piece))).isEqualTo(whole(tokenizer, text));
        }
    }

    @ParameterizedTest
    @ValueSource(strings = {"lstrip", "rstrip", "single_word"})
    void aTokenizerWhoseAddedTokensTakeWhitespaceOrWholeWordsIsNotSplit(String flag) throws IOException {
        ObjectNode definition = (ObjectNode) JSON.readTree(resource(BPE).newInput());
        ((ObjectNode) definition.withArray("added_tokens").get(1)).put(flag, true);

        assertThat(AddedTokenSplit.of(ByteString.copyFrom(JSON.writeValueAsBytes(definition)))).isEmpty();
    }

    @Test
    void addedTokensMatchedAfterANormalizerAreNotSplit() throws IOException {
        ObjectNode definition = (ObjectNode) JSON.readTree(resource(BPE).newInput());
        definition.putObject("normalizer").put("type", "Lowercase");
        ((ObjectNode) definition.withArray("added_tokens").get(1)).put("normalized", true);
        assertThat(AddedTokenSplit.of(ByteString.copyFrom(JSON.writeValueAsBytes(definition)))).isEmpty();

        ((ObjectNode) definition.withArray("added_tokens").get(1)).put("normalized", false);
        assertThat(AddedTokenSplit.of(ByteString.copyFrom(JSON.writeValueAsBytes(definition)))).isPresent();
    }

    @Test
    void aChatIsCountedAsItsIdsAndItsRepeatedPiecesAreKept() {
        GetTokenizerResponse definition = GetTokenizerResponse.newBuilder().setModel("bpe")
                .setTokenizerJson(resource(BPE)).setChatTemplate(LocalTokenizersTest.TEMPLATE).build();
        List<ChatMessage> turn = List.of(message("system", "You are a helpful assistant."),
                message("user", "What is the weather like in Paris right now?"));
        List<ChatMessage> next = List.of(turn.get(0), turn.get(1), message("assistant", "Light rain."),
                message("user", "And <|im_start|> in Rome?"));
        try (ModelTokenizer tokenizer = ModelTokenizer.of(definition)) {
            assertThat(tokenizer.chatCount(turn, List.<Tool>of())).isEqualTo(tokenizer.chatIds(turn, List.of()).length);
            long kept = tokenizer.piecesKept();
            assertThat(kept).as("one per distinct piece between added tokens").isPositive();

            assertThat(tokenizer.chatCount(turn, List.of())).isEqualTo(tokenizer.chatIds(turn, List.of()).length);
            assertThat(tokenizer.piecesKept()).as("nothing new in the same chat").isEqualTo(kept);
            assertThat(tokenizer.chatCount(next, List.of())).isEqualTo(tokenizer.chatIds(next, List.of()).length);
            assertThat(tokenizer.piecesKept()).as("only the new turns' pieces").isGreaterThan(kept);
        }
    }

    private static ChatMessage message(String role, String content) {
        return ChatMessage.newBuilder().setRole(role).setContent(content).build();
    }
}
