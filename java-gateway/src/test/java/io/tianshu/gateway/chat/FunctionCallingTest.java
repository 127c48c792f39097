package io.tianshu.gateway.chat;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.tianshu.gateway.support.FakeInferenceService;
import io.tianshu.gateway.support.GatewayTest;
import io.tianshu.inference.v1.ChatMessage;
import io.tianshu.inference.v1.Generation;
import io.tianshu.inference.v1.TokenizeRequest;
import io.tianshu.inference.v1.Tool;
import io.tianshu.inference.v1.ToolCall;
import io.tianshu.inference.v1.ToolChoice;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.stream.Collectors;
import java.util.stream.IntStream;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;
import org.springframework.beans.factory.annotation.Autowired;
import org.springframework.http.MediaType;
import org.springframework.test.web.reactive.server.WebTestClient;

/**
 * Function calling on /v1/chat/completions: OpenAI's tools, tool_choice, parallel_tool_calls and
 * tool turns checked at the edge and carried to the inference service, and the calls it made
 * answered in OpenAI's shapes, whole and streamed.
 */
class FunctionCallingTest extends GatewayTest {

    static final String WEATHER = """
            {"type": "function", "function": {"name": "get_weather", "description": "Weather in a city",
             "parameters": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]}}}""";
    static final String TIME = """
            {"type": "function", "function": {"name": "get_time"}}""";
    static final String USER = """
            {"role": "user", "content": "Weather in Paris?"}""";
    static final String CALLED = """
            {"role": "assistant", "content": null, "tool_calls": [{"id": "call_1", "type": "function",
             "function": {"name": "get_weather", "arguments": "{\\"city\\": \\"Paris\\"}"}}]}""";
    static final String RESULT = """
            {"role": "tool", "tool_call_id": "call_1", "content": "18 C, sunny"}""";

    @Autowired
    ObjectMapper json;

    static String body(String model, String messages, String extra) {
        return "{\"model\": \"" + model + "\", \"messages\": [" + messages + "]" + (extra.isEmpty() ? "" : ", " + extra)
                + "}";
    }

    static String withTools(String extra) {
        return body(FakeInferenceService.TOOLS_MODEL, USER, "\"tools\": [" + WEATHER + ", " + TIME + "]"
                + (extra.isEmpty() ? "" : ", " + extra));
    }

    static Stream<Arguments> refusedRequests() {
        String nested = "{\"type\": \"object\", \"properties\": {\"a\": ".repeat(40) + "{}" + "}}".repeat(40);
        String manyTools = IntStream.range(0, 129).mapToObj(i -> "{\"type\": \"function\", \"function\": {\"name\": \"f"
                + i + "\"}}").collect(Collectors.joining(", "));
        String tools = FakeInferenceService.TOOLS_MODEL;
        return Stream.of(
            Arguments.of("parameters not a valid JSON Schema", body(tools, USER, """
                    "tools": [{"type": "function", "function": {"name": "get_weather", "parameters":
                      {"type": "object", "properties": {"city": {"type": "strin"}}}}}]"""),
                    "tools[0].function.parameters", "Invalid schema for function 'get_weather': "
                            + "'tools[0].function.parameters' is not a valid JSON Schema: at '/properties/city/type'"),
            Arguments.of("parameters not an object", body(tools, USER, """
                    "tools": [{"type": "function", "function": {"name": "f", "parameters": "{}"}}]"""),
                    "tools[0].function.parameters",
                    "Invalid type for 'tools[0].function.parameters': expected a JSON Schema object."),
            Arguments.of("parameters of an unknown dialect", body(tools, USER, """
                    "tools": [{"type": "function", "function": {"name": "f", "parameters":
                      {"$schema": "https://example.com/my-dialect", "type": "object"}}}]"""),
                    "tools[0].function.parameters.$schema", "'tools[0].function.parameters.$schema' is "
                            + "\"https://example.com/my-dialect\"; supported dialects are "),
            Arguments.of("parameters nested too deep", body(tools, USER, "\"tools\": [{\"type\": \"function\", "
                    + "\"function\": {\"name\": \"f\", \"parameters\": " + nested + "}}]"),
                    "tools[0].function.parameters", "nests objects and arrays more than 64 levels deep."),
            Arguments.of("a tool type other than function", body(tools, USER, """
                    "tools": [{"type": "custom", "custom": {"name": "f"}}]"""),
                    "tools[0].type", "Invalid value for 'tools[0].type': 'custom'. Supported values are: 'function'."),
            Arguments.of("a tool without a type", body(tools, USER, """
                    "tools": [{"function": {"name": "f"}}]"""),
                    "tools[0].type", "Missing required parameter: 'tools[0].type'."),
            Arguments.of("a tool without its function", body(tools, USER, """
                    "tools": [{"type": "function"}]"""),
                    "tools[0].function", "Missing required parameter: 'tools[0].function'."),
            Arguments.of("a function without a name", body(tools, USER, "\"tools\": [" + WEATHER + ", "
                    + "{\"type\": \"function\", \"function\": {\"description\": \"x\"}}]"),
                    "tools[1].function.name", "Missing required parameter: 'tools[1].function.name'."),
            Arguments.of("a function name with a space", body(tools, USER, """
                    "tools": [{"type": "function", "function": {"name": "get weather"}}]"""),
                    "tools[0].function.name", "Invalid 'tools[0].function.name': 'get weather' does not match the "
                            + "pattern '^[a-zA-Z0-9_-]{1,64}$'"),
            Arguments.of("a function name of 65 characters", body(tools, USER, "\"tools\": [{\"type\": \"function\", "
                    + "\"function\": {\"name\": \"" + "f".repeat(65) + "\"}}]"),
                    "tools[0].function.name", "does not match the pattern"),
            Arguments.of("two functions of one name", body(tools, USER, "\"tools\": [" + WEATHER + ", " + TIME + ", "
                    + WEATHER + "]"),
                    "tools[2].function.name", "Duplicate function name 'get_weather' at 'tools[2].function.name': "
                            + "each function needs its own name (also at 'tools[0]')."),
            Arguments.of("129 tools", body(tools, USER, "\"tools\": [" + manyTools + "]"),
                    "tools", "'tools' has 129 functions; at most 128 are allowed."),
            Arguments.of("tool_choice naming no tool", withTools("""
                    "tool_choice": {"type": "function", "function": {"name": "get_news"}}"""),
                    "tool_choice.function.name", "'tool_choice.function.name' is 'get_news', which is not the name of "
                            + "a function in 'tools'."),
            Arguments.of("tool_choice without a function name", withTools("""
                    "tool_choice": {"type": "function", "function": {}}"""),
                    "tool_choice.function.name", "Missing required parameter: 'tool_choice.function.name'."),
            Arguments.of("tool_choice of another type", withTools("""
                    "tool_choice": {"type": "allowed_tools", "allowed_tools": {"mode": "auto", "tools": []}}"""),
                    "tool_choice.type", "Invalid value for 'tool_choice.type': \"allowed_tools\". Supported values "
                            + "are: 'function'."),
            Arguments.of("tool_choice without tools", body(tools, USER, "\"tool_choice\": \"required\""),
                    "tool_choice", "'tool_choice' is only allowed when 'tools' are specified."),
            Arguments.of("an unknown tool_choice", withTools("\"tool_choice\": \"any\""),
                    "tool_choice", "Invalid value for 'tool_choice': 'any'. Supported values are: 'none', 'auto', "
                            + "'required', or {\"type\": \"function\", \"function\": {\"name\": \"...\"}}."),
            Arguments.of("a tool_choice number", withTools("\"tool_choice\": 1"),
                    "tool_choice", "Invalid type for 'tool_choice': expected a string or an object."),
            Arguments.of("a tool message without tool_call_id", body(tools, USER + ", " + CALLED + ", "
                    + "{\"role\": \"tool\", \"content\": \"18 C\"}", ""),
                    "messages[2].tool_call_id", "Missing required parameter: 'messages[2].tool_call_id'."),
            Arguments.of("a tool message answering no call", body(tools, USER + ", " + CALLED + ", "
                    + "{\"role\": \"tool\", \"tool_call_id\": \"call_9\", \"content\": \"18 C\"}", ""),
                    "messages[2].tool_call_id", "Invalid 'messages[2].tool_call_id': 'call_9' is not the id of a tool "
                            + "call in an earlier assistant message's 'tool_calls'."),
            Arguments.of("a tool message before the call it answers", body(tools, USER + ", " + RESULT + ", " + CALLED,
                    ""), "messages[1].tool_call_id", "'call_1' is not the id of a tool call in an earlier"),
            Arguments.of("an assistant call without id", body(tools, USER + ", " + """
                    {"role": "assistant", "tool_calls": [{"type": "function",
                     "function": {"name": "get_weather", "arguments": "{}"}}]}""", ""),
                    "messages[1].tool_calls[0].id", "Missing required parameter: 'messages[1].tool_calls[0].id'."),
            Arguments.of("an assistant call without a function name", body(tools, USER + ", " + """
                    {"role": "assistant", "tool_calls": [{"id": "call_1", "type": "function",
                     "function": {"arguments": "{}"}}]}""", ""),
                    "messages[1].tool_calls[0].function.name",
                    "Missing required parameter: 'messages[1].tool_calls[0].function.name'."),
            Arguments.of("an assistant call whose arguments are an object", body(tools, USER + ", " + """
                    {"role": "assistant", "tool_calls": [{"id": "call_1", "type": "function",
                     "function": {"name": "get_weather", "arguments": {"city": "Paris"}}}]}""", ""),
                    "messages[1].tool_calls[0].function.arguments", "Invalid type for "
                            + "'messages[1].tool_calls[0].function.arguments': expected a string"),
            Arguments.of("an assistant call of another type", body(tools, USER + ", " + """
                    {"role": "assistant", "tool_calls": [{"id": "call_1", "type": "custom",
                     "custom": {"name": "x", "input": "y"}}]}""", ""),
                    "messages[1].tool_calls[0].type", "Invalid value for 'messages[1].tool_calls[0].type': 'custom'."),
            Arguments.of("tool calls in a user message", body(tools, """
                    {"role": "user", "content": "x", "tool_calls": [{"id": "call_1", "type": "function",
                     "function": {"name": "get_weather", "arguments": "{}"}}]}""", ""),
                    "messages[0].tool_calls", "only assistant messages may have 'tool_calls'"),
            Arguments.of("json_schema with tool_choice required", withTools("""
                    "tool_choice": "required", "response_format": {"type": "json_schema",
                      "json_schema": {"name": "x", "schema": {"type": "object"}}}"""),
                    "response_format", "'response_format' of type 'json_schema' cannot be combined with 'tool_choice' "
                            + "'required'"),
            Arguments.of("json_object with a named function", withTools("""
                    "tool_choice": {"type": "function", "function": {"name": "get_time"}},
                    "response_format": {"type": "json_object"}"""),
                    "response_format", "'response_format' of type 'json_object' cannot be combined with 'tool_choice' "
                            + "a named function ('get_time')"),
            Arguments.of("parallel_tool_calls not a boolean", withTools("\"parallel_tool_calls\": \"yes\""),
                    "parallel_tool_calls", "parallel_tool_calls"),
            Arguments.of("tools implying auto on a model without a tool parser",
                    body(FakeInferenceService.CHAT_MODEL, USER, "\"tools\": [" + WEATHER + "]"),
                    "tool_choice", "Model 'tiny-chat' cannot choose tools on its own (tool_choice 'auto', implied when "
                            + "tools are given without tool_choice): name a function or use 'required', or configure a "
                            + "tool parser for the model."),
            Arguments.of("tool_choice auto on a model without a tool parser",
                    body(FakeInferenceService.CHAT_MODEL, USER, "\"tools\": [" + WEATHER + "], "
                            + "\"tool_choice\": \"auto\""),
                    "tool_choice", "Model 'tiny-chat' cannot choose tools on its own (tool_choice 'auto'): name a "
                            + "function or use 'required', or configure a tool parser for the model."));
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("refusedRequests")
    void refusedAt400NamingTheParamAndNothingReachesTheBackend(String what, String body, String param,
            String message) {
        post(body).expectStatus().isBadRequest().expectBody()
                .jsonPath("$.error.type").isEqualTo("invalid_request_error")
                .jsonPath("$.error.param").isEqualTo(param)
                .jsonPath("$.error.message").value(text -> assertThat((String) text).contains(message));
        assertThat(fake.generateCalls.get()).as("Generate and GenerateStream calls").isZero();
        assertThat(fake.tokenizeCalls.get()).as("Tokenize calls").isZero();
    }

    @Test
    void toolsChoiceAndToolTurnsReachTheBackendAsTheContractSaysAndToolsAreCountedByTokenize() {
        String messages = USER + ", " + CALLED + ", " + RESULT + ", "
                + "{\"role\": \"user\", \"content\": \"And the time?\"}";
        post(body(FakeInferenceService.TOOLS_MODEL, messages, "\"tools\": [" + WEATHER + ", " + TIME + "], "
                + "\"tool_choice\": {\"type\": \"function\", \"function\": {\"name\": \"get_time\"}}, "
                + "\"parallel_tool_calls\": false"))
                .expectStatus().isOk();

        Generation sent = fake.lastGeneration.get();
        assertThat(sent.getToolsList()).containsExactly(
                Tool.newBuilder().setName("get_weather").setDescription("Weather in a city").setParametersJson(
                        "{\"type\":\"object\",\"properties\":{\"city\":{\"type\":\"string\"}},\"required\":[\"city\"]}")
                        .build(),
                Tool.newBuilder().setName("get_time").build());
        assertThat(sent.getToolChoice()).isEqualTo(ToolChoice.newBuilder().setFunctionName("get_time").build());
        assertThat(sent.hasParallelToolCalls()).isTrue();
        assertThat(sent.getParallelToolCalls()).isFalse();
        assertThat(sent.hasStructuredOutput()).isFalse();
        // Counted by Tokenize, with the tools, and sent on as the ids Tokenize rendered.
        assertThat(fake.tokenizeCalls.get()).isEqualTo(1);
        assertThat(sent.getMessagesCount()).isZero();
        assertThat(sent.getPromptTokenIdsCount()).isEqualTo(FakeInferenceService.PROMPT_TOKENS);
        TokenizeRequest counted = FakeInferenceService.tokenizedAs(sent);
        assertThat(counted.getToolsList()).isEqualTo(sent.getToolsList());
        assertThat(counted.getMessagesList()).containsExactly(
                ChatMessage.newBuilder().setRole("user").setContent("Weather in Paris?").build(),
                ChatMessage.newBuilder().setRole("assistant").addToolCalls(ToolCall.newBuilder().setId("call_1")
                        .setName("get_weather").setArguments("{\"city\": \"Paris\"}")).build(),
                ChatMessage.newBuilder().setRole("tool").setContent("18 C, sunny").setToolCallId("call_1")
                        .setName("get_weather").build(),
                ChatMessage.newBuilder().setRole("user").setContent("And the time?").build());
    }

    @Test
    void toolChoiceWordsMapToModes() {
        for (String[] wordAndMode : new String[][] {
            {"none", "MODE_NONE"}, {"auto", "MODE_AUTO"}, {"required", "MODE_REQUIRED"}}) {
            post(withTools("\"tool_choice\": \"" + wordAndMode[0] + "\"")).expectStatus().isOk();
            assertThat(fake.lastGeneration.get().getToolChoice().getMode().name()).isEqualTo(wordAndMode[1]);
        }
        post(withTools("")).expectStatus().isOk();
        assertThat(fake.lastGeneration.get().hasToolChoice()).as("auto, implied").isFalse();
        assertThat(fake.lastGeneration.get().hasParallelToolCalls()).isFalse();
    }

    @Test
    void aModelWithoutToolParserServesRequiredNamedAndNone() {
        for (String choice : List.of("\"required\"", "\"none\"",
                "{\"type\": \"function\", \"function\": {\"name\": \"get_weather\"}}")) {
            post(body(FakeInferenceService.CHAT_MODEL, USER, "\"tools\": [" + WEATHER + "], \"tool_choice\": "
                    + choice)).expectStatus().isOk();
        }
        assertThat(fake.generateCalls.get()).isEqualTo(3);
    }

    @Test
    void aPlainAnswerHasNoToolCalls() {
        post(withTools("")).expectStatus().isOk().expectBody()
                .jsonPath("$.choices[0].message.content").isEqualTo("Hello there")
                .jsonPath("$.choices[0].message.tool_calls").doesNotExist()
                .jsonPath("$.choices[0].finish_reason").isEqualTo("stop");
    }

    @Test
    void callsAnswerInOpenAiShapeWithNullContentAndFinishReasonToolCalls() throws Exception {
        JsonNode answer = json.readTree(post(body(FakeInferenceService.TOOLS_MODEL, """
                {"role": "user", "content": "%s"}""".formatted(FakeInferenceService.CALL_TOOLS),
                "\"tools\": [" + WEATHER + ", " + TIME + "]"))
                .expectStatus().isOk().expectBody(String.class).returnResult().getResponseBody());

        JsonNode choice = answer.at("/choices/0");
        assertThat(choice.get("finish_reason").asText()).isEqualTo("tool_calls");
        assertThat(choice.get("message").toString()).isEqualTo("{\"role\":\"assistant\",\"content\":null,"
                + "\"tool_calls\":[{\"id\":\"call_1\",\"type\":\"function\",\"function\":{\"name\":\"get_weather\","
                + "\"arguments\":\"{\\\"city\\\": \\\"Paris\\\"}\"}},{\"id\":\"call_2\",\"type\":\"function\","
                + "\"function\":{\"name\":\"get_time\",\"arguments\":\"{}\"}}]}");
    }

    @Test
    void streamedCallsArriveInPiecesAsOpenAiSendsThem() throws Exception {
        List<JsonNode> chunks = stream(body(FakeInferenceService.TOOLS_MODEL, """
                {"role": "user", "content": "%s"}""".formatted(FakeInferenceService.CALL_TOOLS),
                "\"tools\": [" + WEATHER + ", " + TIME + "], \"stream\": true"));

        // One chunk per piece, then the finish.
        assertThat(chunks).hasSize(FakeInferenceService.TOOL_CALL_PIECES.size() + 1);
        assertThat(chunks.get(0).at("/choices/0/delta").toString()).isEqualTo("{\"role\":\"assistant\","
                + "\"tool_calls\":[{\"index\":0,\"id\":\"call_1\",\"type\":\"function\","
                + "\"function\":{\"name\":\"get_weather\",\"arguments\":\"\"}}]}");
        assertThat(chunks.get(1).at("/choices/0/delta").toString()).isEqualTo("{\"tool_calls\":[{\"index\":0,"
                + "\"function\":{\"arguments\":\"{\\\"city\\\": \"}}]}");
        assertThat(chunks.get(3).at("/choices/0/delta").toString()).isEqualTo("{\"tool_calls\":[{\"index\":1,"
                + "\"id\":\"call_2\",\"type\":\"function\",\"function\":{\"name\":\"get_time\",\"arguments\":\"\"}}]}");
        assertThat(chunks.subList(0, chunks.size() - 1))
                .allSatisfy(chunk -> assertThat(chunk.at("/choices/0/finish_reason").isNull()).isTrue());
        JsonNode last = chunks.get(chunks.size() - 1).at("/choices/0");
        assertThat(last.get("finish_reason").asText()).isEqualTo("tool_calls");
        assertThat(last.get("delta").toString()).isEqualTo("{}");
        // Joined by index, as the SDKs' stream helpers do, the pieces are the calls.
        List<String> arguments = new ArrayList<>(List.of("", ""));
        for (JsonNode chunk : chunks) {
            for (JsonNode piece : chunk.at("/choices/0/delta/tool_calls")) {
                int index = piece.get("index").asInt();
                arguments.set(index, arguments.get(index) + piece.at("/function/arguments").asText());
            }
        }
        assertThat(arguments).containsExactly(FakeInferenceService.TOOL_CALLS.get(0).getArguments(),
                FakeInferenceService.TOOL_CALLS.get(1).getArguments());
    }

    private WebTestClient.ResponseSpec post(String body) {
        return web.post().uri("/v1/chat/completions").contentType(MediaType.APPLICATION_JSON).bodyValue(body)
                .exchange();
    }

    private List<JsonNode> stream(String body) throws Exception {
        byte[] raw = post(body).expectStatus().isOk().expectBody().returnResult().getResponseBodyContent();
        String text = new String(raw, StandardCharsets.UTF_8);
        List<String> events = Arrays.asList(text.substring(0, text.length() - 2).split("\n\n"));
        assertThat(events).last().isEqualTo("data: [DONE]");
        List<JsonNode> chunks = new ArrayList<>();
        for (String event : events.subList(0, events.size() - 1)) {
            chunks.add(json.readTree(event.substring("data: ".length())));
        }
        return chunks;
    }
}
