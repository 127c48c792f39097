package io.tianshu.gateway.embeddings;

import static org.assertj.core.api.Assertions.assertThat;

import io.tianshu.gateway.support.FakeInferenceService;
import io.tianshu.gateway.support.GatewayTest;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.Base64;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.api.Test;
import org.springframework.http.MediaType;

class EmbeddingsTest extends GatewayTest {

    private static final String MODEL = FakeInferenceService.EMBED_MODEL;

    @Test
    void arrayOfStringsGivesOneVectorPerInputInOpenAiShape() {
        web.post().uri("/v1/embeddings").contentType(MediaType.APPLICATION_JSON)
                .bodyValue("{\"model\": \"" + MODEL + "\", \"input\": [\"ab\", \"abcd\"]}")
                .exchange()
                .expectStatus().isOk()
                .expectBody()
                .jsonPath("$.object").isEqualTo("list")
                .jsonPath("$.model").isEqualTo(MODEL)
                .jsonPath("$.data.length()").isEqualTo(2)
                .jsonPath("$.data[0].object").isEqualTo("embedding")
                .jsonPath("$.data[1].index").isEqualTo(1)
                .jsonPath("$.data[1].embedding.length()").isEqualTo(384)
                .jsonPath("$.data[1].embedding[0]").isEqualTo(0.04)
                .jsonPath("$.usage.prompt_tokens").isEqualTo(6)
                .jsonPath("$.usage.total_tokens").isEqualTo(6);
        assertThat(fake.lastEmbed.get().getTextsList()).containsExactly("ab", "abcd");
    }

    @Test
    void base64EncodingIsLittleEndianFloat32AsTheSdksDecodeIt() {
        byte[] body = web.post().uri("/v1/embeddings").contentType(MediaType.APPLICATION_JSON)
                .bodyValue("{\"model\": \"" + MODEL + "\", \"input\": \"abc\", \"encoding_format\": \"base64\", "
                        + "\"dimensions\": 384}")
                .exchange()
                .expectStatus().isOk()
                .expectBody().jsonPath("$.data[0].embedding").isNotEmpty()
                .returnResult().getResponseBody();
        String encoded = new String(body).replaceAll(".*\"embedding\":\"([^\"]+)\".*", "$1");
        ByteBuffer floats = ByteBuffer.wrap(Base64.getDecoder().decode(encoded)).order(ByteOrder.LITTLE_ENDIAN);
        assertThat(floats.remaining()).isEqualTo(384 * 4);
        assertThat(floats.getFloat(4)).isEqualTo(0.001f + 0.03f);
    }

    @ParameterizedTest
    @CsvSource(delimiter = '|', value = {
        "{\"model\": \"tiny-embed\", \"input\": [[1, 2, 3]]}                     | input",
        "{\"model\": \"tiny-embed\", \"input\": [1, 2, 3]}                       | input",
        "{\"model\": \"tiny-embed\", \"input\": []}                              | input",
        "{\"model\": \"tiny-embed\", \"input\": \"\"}                            | input",
        "{\"model\": \"tiny-embed\", \"input\": [\"a\", true]}                    | input[1]",
        "{\"model\": \"tiny-embed\"}                                             | input",
        "{\"input\": \"a\"}                                                      | model",
        "{\"model\": \"tiny-embed\", \"input\": \"a\", \"encoding_format\": \"hex\"} | encoding_format",
        "{\"model\": \"tiny-embed\", \"input\": \"a\", \"dimensions\": 128}      | dimensions",
        "{\"model\": \"tiny-chat\", \"input\": \"a\"}                            | model",
    })
    void badEmbeddingsRequestIs400NamingItsParam(String body, String param) {
        web.post().uri("/v1/embeddings").contentType(MediaType.APPLICATION_JSON).bodyValue(body)
                .exchange()
                .expectStatus().isBadRequest()
                .expectBody()
                .jsonPath("$.error.type").isEqualTo("invalid_request_error")
                .jsonPath("$.error.param").isEqualTo(param);
    }

    @Test
    void moreInputsThanTheModelsBatchIs400() {
        String inputs = "\"x\",".repeat(64) + "\"x\"";
        web.post().uri("/v1/embeddings").contentType(MediaType.APPLICATION_JSON)
                .bodyValue("{\"model\": \"" + MODEL + "\", \"input\": [" + inputs + "]}")
                .exchange()
                .expectStatus().isBadRequest()
                .expectBody().jsonPath("$.error.param").isEqualTo("input");
    }

    @Test
    void unknownEmbeddingModelIs404() {
        web.post().uri("/v1/embeddings").contentType(MediaType.APPLICATION_JSON)
                .bodyValue("{\"model\": \"nope\", \"input\": \"a\"}")
                .exchange()
                .expectStatus().isNotFound()
                .expectBody().jsonPath("$.error.code").isEqualTo("model_not_found");
    }
}
