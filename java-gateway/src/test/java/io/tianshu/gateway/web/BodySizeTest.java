package io.tianshu.gateway.web;

import io.tianshu.gateway.support.GatewayTest;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import org.junit.jupiter.api.Test;
import org.springframework.core.io.buffer.DataBuffer;
import org.springframework.core.io.buffer.DefaultDataBufferFactory;
import org.springframework.http.MediaType;
import org.springframework.test.context.TestPropertySource;
import reactor.core.publisher.Flux;

/** Bodies over TIANSHU_MAX_BODY_BYTES get 413, whether or not they declare their length. */
@TestPropertySource(properties = "tianshu.http.max-body-bytes=" + BodySizeTest.LIMIT)
class BodySizeTest extends GatewayTest {

    static final int LIMIT = 64 * 1024;

    @Test
    void bodyDeclaredLargerThanTheLimitIs413() {
        web.post().uri("/v1/chat/completions").contentType(MediaType.APPLICATION_JSON)
                .bodyValue(chat("x".repeat(LIMIT)))
                .exchange()
                .expectStatus().isEqualTo(413)
                .expectBody()
                .jsonPath("$.error.type").isEqualTo("invalid_request_error")
                .jsonPath("$.error.code").isEqualTo("request_too_large");
    }

    @Test
    void chunkedBodyPassingTheLimitIs413() {
        byte[] piece = new byte[8 * 1024];
        Arrays.fill(piece, (byte) 'x');
        String head = "{\"model\": \"tiny-chat\", \"messages\": [{\"role\": \"user\", \"content\": \"";
        Flux<DataBuffer> body = Flux.concat(
                Flux.just(head.getBytes(StandardCharsets.UTF_8)),
                Flux.range(0, 2 * LIMIT / piece.length).map(i -> piece),
                Flux.just("\"}]}".getBytes(StandardCharsets.UTF_8)))
                .map(DefaultDataBufferFactory.sharedInstance::wrap);
        web.post().uri("/v1/chat/completions").contentType(MediaType.APPLICATION_JSON)
                .body(body, DataBuffer.class)
                .exchange()
                .expectStatus().isEqualTo(413)
                .expectBody().jsonPath("$.error.code").isEqualTo("request_too_large");
    }

    @Test
    void bodyJustUnderTheLimitIsServed() {
        String body = chat("x".repeat(LIMIT - 200));
        web.post().uri("/v1/chat/completions").contentType(MediaType.APPLICATION_JSON).bodyValue(body)
                .exchange()
                .expectStatus().isOk();
    }
}
