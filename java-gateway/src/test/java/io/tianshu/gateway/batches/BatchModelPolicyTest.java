package io.tianshu.gateway.batches;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.tianshu.gateway.config.DynamicConfig;
import io.tianshu.gateway.support.FakeInferenceService;
import io.tianshu.gateway.support.TestKeys;
import io.tianshu.jobs.v1.InputLine;
import java.util.List;
import java.util.stream.IntStream;
import org.junit.jupiter.api.Test;
import org.springframework.beans.factory.annotation.Autowired;
import org.springframework.http.HttpHeaders;
import org.springframework.http.MediaType;
import org.springframework.test.web.reactive.server.WebTestClient;

/**
 * A batch's lines go through the interactive routes' model policy at creation: a model the
 * caller may not use, one that is not served, or one of the wrong kind refuses the whole
 * batch with the interactive route's status and code, and nothing reaches the batch service.
 */
class BatchModelPolicyTest extends BatchGatewayTest {

    private static final String CHAT = FakeInferenceService.CHAT_MODEL;
    private static final String EMBED = FakeInferenceService.EMBED_MODEL;
    private static final ObjectMapper JSON = new ObjectMapper();

    @Autowired
    DynamicConfig dynamic;

    @Test
    void aModelTheTenantMayNotUseIsRefusedAsOnChatNamingTheLines() {
        String tenant = TestKeys.tenant(tenants, null, null, List.of(EMBED));
        WebTestClient caller = as(tenant, "batch", "chat");
        caller.post().uri("/v1/chat/completions").contentType(MediaType.APPLICATION_JSON).bodyValue(chat("Hi"))
                .exchange().expectStatus().isForbidden().expectBody()
                .jsonPath("$.error.code").isEqualTo("model_not_allowed")
                .jsonPath("$.error.type").isEqualTo("permission_error");
        String file = uploadedLines(caller, chatLine("a", CHAT), chatLine("b", CHAT));
        int creates = jobs.creates.get();

        JsonNode error = refusal(createBatch(caller, chatBatch(file), null).expectStatus().isForbidden());

        assertThat(error.get("code").asText()).isEqualTo("model_not_allowed");
        assertThat(error.get("type").asText()).isEqualTo("permission_error");
        assertThat(error.get("param").asText()).isEqualTo("input_file_id");
        assertThat(error.get("message").asText()).isEqualTo("This API key may not use the model '" + CHAT + "'. "
                + "Named on 2 lines of the input file: 1, 2.");
        assertThat(jobs.creates.get()).isEqualTo(creates);
    }

    @Test
    void theKeysAllowListCountsToo() {
        WebTestClient caller = keyAllowing(newTenant(), "some-other-model");
        String file = uploadedLines(caller, chatLine("a", CHAT));
        createBatch(caller, chatBatch(file), null).expectStatus().isForbidden().expectBody()
                .jsonPath("$.error.code").isEqualTo("model_not_allowed")
                .jsonPath("$.error.message").isEqualTo("This API key may not use the model '" + CHAT + "'. "
                        + "Named on line 1 of the input file.");
    }

    @Test
    void manyOffendingLinesAreNamedFirstThenCounted() {
        String tenant = TestKeys.tenant(tenants, null, null, List.of(EMBED));
        WebTestClient caller = as(tenant, "batch");
        String file = uploadedLines(caller, IntStream.rangeClosed(1, 25).mapToObj(i -> chatLine("l" + i, CHAT))
                .toArray(String[]::new));
        createBatch(caller, chatBatch(file), null).expectStatus().isForbidden().expectBody()
                .jsonPath("$.error.message").isEqualTo("This API key may not use the model '" + CHAT + "'. "
                        + "Named on 25 lines of the input file: 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, "
                        + "16, 17, 18, 19, 20 and 5 more.");
    }

    @Test
    void anUnknownModelIsRefusedAsOnChatAndOnlyItsLinesAreNamed() {
        WebTestClient caller = as(newTenant(), "batch", "chat");
        JsonNode onChat = refusal(caller.post().uri("/v1/chat/completions").contentType(MediaType.APPLICATION_JSON)
                .bodyValue("{\"model\": \"no-such-model\", \"messages\": [{\"role\": \"user\", \"content\": \"Hi\"}]}")
                .exchange().expectStatus().isNotFound());
        String file = uploadedLines(caller, chatLine("a", CHAT), chatLine("b", "no-such-model"), chatLine("c", CHAT));
        int creates = jobs.creates.get();

        JsonNode error = refusal(createBatch(caller, chatBatch(file), null).expectStatus().isNotFound());

        assertThat(error.get("code").asText()).isEqualTo(onChat.get("code").asText()).isEqualTo("model_not_found");
        assertThat(error.get("type").asText()).isEqualTo(onChat.get("type").asText());
        assertThat(error.get("message").asText()).isEqualTo("The model 'no-such-model' does not exist. "
                + "Named on line 2 of the input file.");
        assertThat(jobs.creates.get()).isEqualTo(creates);
    }

    @Test
    void aModelOfTheOtherKindIsRefusedAsOnItsEndpoint() {
        WebTestClient caller = as(newTenant(), "batch");
        String chatFile = uploadedLines(caller, chatLine("a", EMBED));
        createBatch(caller, chatBatch(chatFile), null).expectStatus().isBadRequest().expectBody()
                .jsonPath("$.error.param").isEqualTo("input_file_id")
                .jsonPath("$.error.message").isEqualTo("The model '" + EMBED + "' is an embedding model and cannot "
                        + "generate text. Named on line 1 of the input file.");
        String embedFile = uploadedLines(caller, embeddingLine("a", CHAT));
        createBatch(caller, embeddingBatch(embedFile), null).expectStatus().isBadRequest().expectBody()
                .jsonPath("$.error.message").isEqualTo("The model '" + CHAT + "' is not an embedding model. "
                        + "Named on line 1 of the input file.");
    }

    @Test
    void anAllowedEmbeddingBatchIsAccepted() {
        String tenant = TestKeys.tenant(tenants, null, null, List.of(EMBED));
        WebTestClient caller = as(tenant, "batch");
        String file = uploadedLines(caller, embeddingLine("a", EMBED), embeddingLine("b", EMBED));
        createBatch(caller, embeddingBatch(file), null).expectStatus().isOk();
        assertThat(jobs.lastCreate.get().getLinesList()).extracting(InputLine::getCustomId).containsExactly("a", "b");
    }

    @Test
    void anAliasIsCheckedAndSentAsTheModelItStandsFor() throws Exception {
        // Allow-lists may name the alias, as on the interactive routes.
        WebTestClient caller = keyAllowing(newTenant(), "house-chat");
        String file = uploadedLines(caller, chatLine("a", "house-chat"), chatLine("b", "house-chat"));
        dynamic.apply("tianshu.dynamic.model-aliases: {house-chat: " + CHAT + "}");
        try {
            createBatch(caller, chatBatch(file), null).expectStatus().isOk();
        } finally {
            dynamic.apply("");
        }
        List<InputLine> sent = jobs.lastCreate.get().getLinesList();
        assertThat(sent).hasSize(2);
        for (InputLine line : sent) {
            assertThat(line.getGeneration().getModel()).isEqualTo(CHAT);
            assertThat(line.getGeneration().getSampling().getMaxTokens()).isEqualTo(8);
        }
    }

    @Test
    void bodiesTheChatRouteWouldRefuseRefuseTheBatchNamingTheirLines() {
        WebTestClient caller = as(newTenant(), "batch");
        int before = jobs.creates.get();
        String file = uploadedLines(caller, chatLine("a", CHAT),
                "{\"custom_id\": \"no-model\", \"method\": \"POST\", \"url\": \"/v1/chat/completions\", "
                        + "\"body\": {\"messages\": [{\"role\": \"user\", \"content\": \"Hi\"}]}}",
                "{\"custom_id\": \"hot\", \"method\": \"POST\", \"url\": \"/v1/chat/completions\", "
                        + "\"body\": {\"model\": \"" + CHAT + "\", \"temperature\": 3, \"messages\": [{\"role\": \"user\", "
                        + "\"content\": \"Hi\"}]}}",
                "{\"custom_id\": \"streamed\", \"method\": \"POST\", \"url\": \"/v1/chat/completions\", "
                        + "\"body\": {\"model\": \"" + CHAT + "\", \"stream\": true, \"messages\": [{\"role\": "
                        + "\"user\", \"content\": \"Hi\"}]}}");
        JsonNode error = refusal(createBatch(caller, chatBatch(file), null).expectStatus().isBadRequest());
        assertThat(error.get("type").asText()).isEqualTo("invalid_request_error");
        assertThat(error.get("param").asText()).isEqualTo("input_file_id");
        assertThat(error.get("message").asText()).isEqualTo("The file has 3 invalid lines: "
                + "line 2: Missing required parameter: 'model'; "
                + "line 3: 'temperature' is 3.0; it must be between 0.0 and 2.0; "
                + "line 4: 'stream' is not supported in a batch: a line's answer is one chat.completion in the "
                + "output file.");
        assertThat(jobs.creates.get()).isEqualTo(before);
    }

    @Test
    void limitsOfTheNamedModelAreCheckedPerLineAsOnTheChatRoute() {
        WebTestClient caller = as(newTenant(), "batch");
        String file = uploadedLines(caller, chatLine("a", CHAT),
                "{\"custom_id\": \"many\", \"method\": \"POST\", \"url\": \"/v1/chat/completions\", "
                        + "\"body\": {\"model\": \"" + CHAT + "\", \"n\": 9, \"messages\": [{\"role\": \"user\", "
                        + "\"content\": \"Hi\"}]}}");
        JsonNode error = refusal(createBatch(caller, chatBatch(file), null).expectStatus().isBadRequest());
        assertThat(error.get("message").asText()).isEqualTo("The file has 1 invalid line: "
                + "line 2: 'n' is 9; model '" + CHAT + "' allows at most 4.");
    }

    @Test
    void chatOptionsTheOldBatchPathDroppedAreCarriedToTheEngine() {
        // logprobs, response_format, top_k, ignore_eos and content parts: the chat route honours
        // them, and a batch line now means the same, through the same mapper.
        WebTestClient caller = as(newTenant(), "batch");
        String file = uploadedLines(caller, "{\"custom_id\": \"rich\", \"method\": \"POST\", "
                + "\"url\": \"/v1/chat/completions\", \"body\": {\"model\": \"" + CHAT + "\", \"logprobs\": true, "
                + "\"top_logprobs\": 2, \"top_k\": 5, \"ignore_eos\": true, "
                + "\"response_format\": {\"type\": \"json_object\"}, "
                + "\"messages\": [{\"role\": \"user\", \"content\": [{\"type\": \"text\", \"text\": \"Hi\"}]}]}}");
        createBatch(caller, chatBatch(file), null).expectStatus().isOk();
        io.tianshu.inference.v1.Generation sent = jobs.lastCreate.get().getLines(0).getGeneration();
        assertThat(sent.getSampling().getLogprobs()).isEqualTo(2);
        assertThat(sent.getSampling().getTopK()).isEqualTo(5);
        assertThat(sent.getSampling().getIgnoreEos()).isTrue();
        assertThat(sent.getStructuredOutput().getJsonObject()).isTrue();
        assertThat(sent.getMessages(0).getContent()).isEqualTo("Hi");
    }

    @Test
    void toolsAndToolTurnsInALineAreCarriedAsOnTheChatRoute() {
        WebTestClient caller = as(newTenant(), "batch");
        String file = uploadedLines(caller, chatLineWithBody("tools", """
                {"model": "%s", "tool_choice": "required", "parallel_tool_calls": false,
                 "tools": [{"type": "function", "function": {"name": "get_weather", "parameters": {"type": "object"}}}],
                 "messages": [{"role": "user", "content": "Hi"},
                   {"role": "assistant", "content": null, "tool_calls": [{"id": "call_1", "type": "function",
                    "function": {"name": "get_weather", "arguments": "{}"}}]},
                   {"role": "tool", "tool_call_id": "call_1", "content": "sunny"}]}""".formatted(CHAT)));
        createBatch(caller, chatBatch(file), null).expectStatus().isOk();
        io.tianshu.inference.v1.Generation sent = jobs.lastCreate.get().getLines(0).getGeneration();
        assertThat(sent.getToolsList()).containsExactly(io.tianshu.inference.v1.Tool.newBuilder()
                .setName("get_weather").setParametersJson("{\"type\":\"object\"}").build());
        assertThat(sent.getToolChoice().getMode()).isEqualTo(io.tianshu.inference.v1.ToolChoice.Mode.MODE_REQUIRED);
        assertThat(sent.getParallelToolCalls()).isFalse();
        assertThat(sent.getMessages(1).getToolCalls(0).getId()).isEqualTo("call_1");
        assertThat(sent.getMessages(2).getToolCallId()).isEqualTo("call_1");
        assertThat(sent.getMessages(2).getName()).isEqualTo("get_weather");
    }

    @Test
    void aLineLeavingTheChoiceOfToolsToAModelWithoutToolParserIsRefused() {
        WebTestClient caller = as(newTenant(), "batch");
        String file = uploadedLines(caller, chatLine("a", CHAT), chatLineWithBody("auto", """
                {"model": "%s", "tools": [{"type": "function", "function": {"name": "get_weather"}}],
                 "messages": [{"role": "user", "content": "Hi"}]}""".formatted(CHAT)));
        JsonNode error = refusal(createBatch(caller, chatBatch(file), null).expectStatus().isBadRequest());
        assertThat(error.get("message").asText()).startsWith("The file has 1 invalid line: line 2: Model '" + CHAT
                + "' cannot choose tools on its own (tool_choice 'auto', implied when tools are given without "
                + "tool_choice)");
    }

    /** A client whose key (scope batch) allows only this model; its tenant allows any. */
    private WebTestClient keyAllowing(String tenant, String model) {
        String key = TestKeys.key(keys, tenant, List.of("batch"), null, null, List.of(model), null).plaintext();
        return web.mutate().defaultHeaders(h -> h.set(HttpHeaders.AUTHORIZATION, "Bearer " + key)).build();
    }

    private static String chatLine(String customId, String model) {
        return "{\"custom_id\": \"" + customId + "\", \"method\": \"POST\", \"url\": \"/v1/chat/completions\", "
                + "\"body\": {\"model\": \"" + model + "\", \"max_tokens\": 8, \"messages\": [{\"role\": \"user\", "
                + "\"content\": \"Hi\"}]}}";
    }

    private static String chatLineWithBody(String customId, String body) {
        return "{\"custom_id\": \"" + customId + "\", \"method\": \"POST\", \"url\": \"/v1/chat/completions\", "
                + "\"body\": " + body.replace('\n', ' ') + "}";
    }

    private static String embeddingLine(String customId, String model) {
        return "{\"custom_id\": \"" + customId + "\", \"method\": \"POST\", \"url\": \"/v1/embeddings\", "
                + "\"body\": {\"model\": \"" + model + "\", \"input\": \"Hi\"}}";
    }

    private static String embeddingBatch(String fileId) {
        return "{\"input_file_id\": \"" + fileId + "\", \"endpoint\": \"/v1/embeddings\"}";
    }

    private static String uploadedLines(WebTestClient client, String... lines) {
        return upload(client, "batch", jsonl(lines)).expectStatus().isOk().expectBody(JsonNode.class).returnResult()
                .getResponseBody().get("id").asText();
    }

    private static JsonNode refusal(WebTestClient.ResponseSpec response) {
        return response.expectBody(JsonNode.class).returnResult().getResponseBody().get("error");
    }
}
