package io.tianshu.gateway.chat;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.fasterxml.jackson.databind.ObjectMapper;
import io.tianshu.gateway.error.ApiException;
import io.tianshu.inference.v1.Generation;
import io.tianshu.inference.v1.Model;
import io.tianshu.inference.v1.Priority;
import io.tianshu.inference.v1.StructuredOutput;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

class ChatRequestMapperTest {

    private final ObjectMapper json = new ObjectMapper();

    private ChatCompletionRequest parse(String body) throws Exception {
        return json.readValue(body, ChatCompletionRequest.class);
    }

    private Generation map(String extra) throws Exception {
        return ChatRequestMapper.toGeneration(parse(
                "{\"model\": \"m\", \"messages\": [{\"role\": \"user\", \"content\": \"Hi\"}]" + extra + "}"), "rid-1");
    }

    @Test
    void minimalRequestMapsModelMessagesAndRequestId() throws Exception {
        Generation g = map("");

        assertThat(g.getModel()).isEqualTo("m");
        assertThat(g.getRequestId()).isEqualTo("rid-1");
        assertThat(g.getPriority()).isEqualTo(Priority.PRIORITY_INTERACTIVE);
        assertThat(g.getMessages(0).getRole()).isEqualTo("user");
        assertThat(g.getMessages(0).getContent()).isEqualTo("Hi");
        assertThat(g.getSampling().hasTemperature()).as("unset fields stay unset").isFalse();
        assertThat(g.hasStructuredOutput()).isFalse();
    }

    @Test
    void everySamplingFieldIsCarried() throws Exception {
        Generation g = map(", \"temperature\": 0, \"top_p\": 1, \"max_tokens\": 9, \"seed\": -3, \"n\": 2,"
                + " \"presence_penalty\": 2, \"frequency_penalty\": -2, \"stop\": [\"a\", \"b\"],"
                + " \"logprobs\": true, \"top_logprobs\": 3");

        var s = g.getSampling();
        assertThat(s.getTemperature()).isZero();
        assertThat(s.getTopP()).isEqualTo(1f);
        assertThat(s.getMaxTokens()).isEqualTo(9);
        assertThat(s.getSeed()).isEqualTo(-3L);
        assertThat(s.getN()).isEqualTo(2);
        assertThat(s.getPresencePenalty()).isEqualTo(2f);
        assertThat(s.getFrequencyPenalty()).isEqualTo(-2f);
        assertThat(s.getStopList()).containsExactly("a", "b");
        assertThat(s.getLogprobs()).isEqualTo(3);
    }

    @Test
    void vllmExtensionsTopKAndIgnoreEosAreCarried() throws Exception {
        var s = map(", \"top_k\": 5, \"ignore_eos\": true").getSampling();
        assertThat(s.getTopK()).isEqualTo(5);
        assertThat(s.getIgnoreEos()).isTrue();
        assertThat(map("").getSampling().getIgnoreEos()).isFalse();
    }

    @Test
    void maxCompletionTokensWinsOverMaxTokens() throws Exception {
        assertThat(map(", \"max_tokens\": 9, \"max_completion_tokens\": 4").getSampling().getMaxTokens()).isEqualTo(4);
    }

    @Test
    void logprobsWithoutTopLogprobsAsksForTheChosenTokenOnly() throws Exception {
        assertThat(map(", \"logprobs\": true").getSampling().getLogprobs()).isZero();
        assertThat(map(", \"logprobs\": false").getSampling().hasLogprobs()).isFalse();
    }

    @Test
    void textContentPartsAreJoined() throws Exception {
        Generation g = ChatRequestMapper.toGeneration(parse("{\"model\": \"m\", \"messages\": [{\"role\": \"user\","
                + " \"content\": [{\"type\": \"text\", \"text\": \"a\"}, {\"type\": \"text\", \"text\": \"b\"}]},"
                + " {\"role\": \"assistant\", \"content\": null}]}"), "r");

        assertThat(g.getMessages(0).getContent()).isEqualTo("a\nb");
        assertThat(g.getMessages(1).getContent()).isEmpty();
    }

    @Test
    void responseFormatsMapToStructuredOutput() throws Exception {
        assertThat(map(", \"response_format\": {\"type\": \"json_object\"}").getStructuredOutput().getKindCase())
                .isEqualTo(StructuredOutput.KindCase.JSON_OBJECT);
        assertThat(map(", \"response_format\": {\"type\": \"text\"}").hasStructuredOutput()).isFalse();
        assertThat(map(", \"response_format\": {\"type\": \"json_schema\", \"json_schema\": {\"name\": \"x\","
                + " \"schema\": {\"type\": \"object\", \"required\": [\"city\"]}}}").getStructuredOutput().getJsonSchema())
                .isEqualTo("{\"type\":\"object\",\"required\":[\"city\"]}");
    }

    @ParameterizedTest(name = "{0} -> param {1}")
    @CsvSource(delimiter = '|', value = {
        ", \"temperature\": -0.1|temperature",
        ", \"temperature\": 2.5|temperature",
        ", \"top_p\": 0|top_p",
        ", \"max_tokens\": 0|max_tokens",
        ", \"max_completion_tokens\": -1|max_completion_tokens",
        ", \"n\": 0|n",
        ", \"top_k\": 0|top_k",
        ", \"presence_penalty\": 3|presence_penalty",
        ", \"frequency_penalty\": -3|frequency_penalty",
        ", \"stop\": [\"a\", 1]|stop",
        ", \"stop\": {}|stop",
        ", \"top_logprobs\": 2|top_logprobs",
        ", \"logprobs\": true, \"top_logprobs\": 21|top_logprobs",
        ", \"response_format\": {\"type\": \"yaml\"}|response_format.type",
        ", \"response_format\": {\"type\": \"json_schema\"}|response_format.json_schema.schema",
    })
    void outOfRangeValueIsRefusedNamingItsParam(String extra, String param) {
        assertThatThrownBy(() -> map(extra))
                .isInstanceOfSatisfying(ApiException.class, e -> assertThat(e.getMessage()).contains(param.split("\\.")[0]))
                .extracting("param").isEqualTo(param);
    }

    @ParameterizedTest(name = "{0} -> param {1}")
    @CsvSource(delimiter = '|', value = {
        "{\"messages\": [{\"role\": \"user\", \"content\": \"Hi\"}]}|model",
        "{\"model\": \" \", \"messages\": [{\"role\": \"user\", \"content\": \"Hi\"}]}|model",
        "{\"model\": \"m\"}|messages",
        "{\"model\": \"m\", \"messages\": []}|messages",
        "{\"model\": \"m\", \"messages\": [{\"content\": \"Hi\"}]}|messages[0].role",
        "{\"model\": \"m\", \"messages\": [{\"role\": \"user\", \"content\": \"Hi\"}, {\"role\": \"bot\", \"content\": \"x\"}]}|messages[1].role",
        "{\"model\": \"m\", \"messages\": [{\"role\": \"user\", \"content\": {}}]}|messages[0].content",
        "{\"model\": \"m\", \"messages\": [{\"role\": \"user\", \"content\": [{\"type\": \"image_url\"}]}]}|messages[0].content[0]",
    })
    void structuralProblemIsRefusedNamingItsParam(String body, String param) {
        assertThatThrownBy(() -> ChatRequestMapper.toGeneration(parse(body), "r"))
                .isInstanceOf(ApiException.class)
                .extracting("param").isEqualTo(param);
    }

    @Test
    void modelLimitsOnChoicesAndLogprobsAreEnforced() throws Exception {
        Model model = Model.newBuilder().setId("m").setMaxChoices(2).setMaxLogprobs(1).build();
        Generation plain = Generation.getDefaultInstance();

        assertThatThrownBy(() -> ChatRequestMapper.checkModelLimits(parse("{\"n\": 3}"), plain, model))
                .extracting("param").isEqualTo("n");
        assertThatThrownBy(() -> ChatRequestMapper.checkModelLimits(
                parse("{\"logprobs\": true, \"top_logprobs\": 2}"), plain, model))
                .extracting("param").isEqualTo("top_logprobs");
        ChatRequestMapper.checkModelLimits(parse("{\"n\": 2, \"logprobs\": true, \"top_logprobs\": 1}"), plain,
                model);
    }
}
