package io.tianshu.gateway.models;

import io.tianshu.gateway.support.FakeInferenceService;
import io.tianshu.gateway.support.GatewayTest;
import org.junit.jupiter.api.Test;

class ModelsEndpointTest extends GatewayTest {

    @Test
    void listsServedModelsInOpenAiShape() {
        web.get().uri("/v1/models")
                .exchange()
                .expectStatus().isOk()
                .expectBody()
                .jsonPath("$.object").isEqualTo("list")
                .jsonPath("$.data[0].id").isEqualTo(FakeInferenceService.CHAT_MODEL)
                .jsonPath("$.data[0].object").isEqualTo("model")
                .jsonPath("$.data[0].created").isNumber()
                .jsonPath("$.data[0].owned_by").isEqualTo("tianshu")
                .jsonPath("$.data[0].kind").isEqualTo("generate")
                .jsonPath("$.data[0].context_length").isEqualTo(2048)
                .jsonPath("$.data[1].kind").isEqualTo("embed")
                .jsonPath("$.data[3].id").isEqualTo(FakeInferenceService.RERANK_MODEL)
                .jsonPath("$.data[3].kind").isEqualTo("rerank");
    }

    @Test
    void eachModelSaysWhetherItCanChooseToolsItself() {
        web.get().uri("/v1/models")
                .exchange()
                .expectStatus().isOk()
                .expectBody()
                .jsonPath("$.data[0].id").isEqualTo(FakeInferenceService.CHAT_MODEL)
                .jsonPath("$.data[0].tool_parser").hasJsonPath()
                .jsonPath("$.data[0].tool_parser").isEmpty()
                .jsonPath("$.data[0].supports_auto_tool_choice").isEqualTo(false)
                .jsonPath("$.data[2].id").isEqualTo(FakeInferenceService.TOOLS_MODEL)
                .jsonPath("$.data[2].tool_parser").isEqualTo(FakeInferenceService.TOOL_PARSER)
                .jsonPath("$.data[2].supports_auto_tool_choice").isEqualTo(true);
    }

    @Test
    void retrievesOneModel() {
        web.get().uri("/v1/models/{id}", FakeInferenceService.CHAT_MODEL)
                .exchange()
                .expectStatus().isOk()
                .expectBody().jsonPath("$.id").isEqualTo(FakeInferenceService.CHAT_MODEL);
    }

    @Test
    void unknownModelIs404ModelNotFound() {
        web.get().uri("/v1/models/{id}", "nope")
                .exchange()
                .expectStatus().isNotFound()
                .expectBody().jsonPath("$.error.code").isEqualTo("model_not_found");
    }
}
