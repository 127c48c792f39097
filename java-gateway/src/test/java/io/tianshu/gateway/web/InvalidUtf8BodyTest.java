package io.tianshu.gateway.web;

import static org.assertj.core.api.Assertions.assertThat;

import io.tianshu.gateway.support.GatewayTest;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import org.junit.jupiter.api.Test;
import org.springframework.core.io.buffer.DataBuffer;
import org.springframework.core.io.buffer.DefaultDataBufferFactory;
import org.springframework.http.MediaType;
import reactor.core.publisher.Flux;

/** JSON bodies must be UTF-8: anything else is a 400 that says so and where, and reaches no backend. */
class InvalidUtf8BodyTest extends GatewayTest {

    private static final String HEAD = "{\"model\": \"tiny-chat\", \"messages\": [{\"role\": \"user\", \"content\": \"";
    private static final String TAIL = "\"}]}";

    /** A chat body whose message content is these raw bytes. */
    private static byte[] chatWith(byte... content) {
        byte[] head = HEAD.getBytes(StandardCharsets.UTF_8);
        byte[] tail = TAIL.getBytes(StandardCharsets.UTF_8);
        byte[] body = Arrays.copyOf(head, head.length + content.length + tail.length);
        System.arraycopy(content, 0, body, head.length, content.length);
        System.arraycopy(tail, 0, body, head.length + content.length, tail.length);
        return body;
    }

    @Test
    void anOverlongFormJacksonWouldReadIs400NamingTheByte() {
        // 0xC0 0xAF is '/' in a forbidden two-byte form: Jackson alone reads it as a character.
        int offset = HEAD.length() + 1;
        web.post().uri("/v1/chat/completions").contentType(MediaType.APPLICATION_JSON)
                .bodyValue(chatWith((byte) 'H', (byte) 0xC0, (byte) 0xAF, (byte) 'i'))
                .exchange()
                .expectStatus().isBadRequest()
                .expectBody()
                .jsonPath("$.error.type").isEqualTo("invalid_request_error")
                .jsonPath("$.error.message").isEqualTo("The request body is not valid UTF-8 (byte 0xC0 at offset "
                        + offset + "); send JSON encoded as UTF-8.");
        assertThat(fake.generateCalls).hasValue(0);
        assertThat(fake.tokenizeCalls).hasValue(0);
    }

    @Test
    void aBodyInAnotherEncodingIs400SayingItIsNotUtf8() {
        // Latin-1 "é", and a UTF-16 byte order mark at the very start.
        for (byte[] body : new byte[][] {chatWith((byte) 0xE9), {(byte) 0xFF, (byte) 0xFE, '{', 0, '}', 0}}) {
            web.post().uri("/v1/embeddings").contentType(MediaType.APPLICATION_JSON).bodyValue(body)
                    .exchange()
                    .expectStatus().isBadRequest()
                    .expectBody().jsonPath("$.error.message").value(message -> assertThat((String) message)
                            .startsWith("The request body is not valid UTF-8 (byte 0x"));
        }
        assertThat(fake.lastEmbed.get()).isNull();
    }

    @Test
    void aBodyEndingInsideACharacterIs400() {
        byte[] body = Arrays.copyOf(chatWith(), chatWith().length + 1);
        body[body.length - 1] = (byte) 0xE2;
        web.post().uri("/v1/chat/completions").contentType(MediaType.APPLICATION_JSON).bodyValue(body)
                .exchange()
                .expectStatus().isBadRequest()
                .expectBody().jsonPath("$.error.message").isEqualTo(
                        "The request body is not valid UTF-8 (it ends in the middle of a character); "
                                + "send JSON encoded as UTF-8.");
    }

    @Test
    void aCharacterSplitAcrossChunksOfTheBodyIsFine() {
        byte[] body = chatWith("€😀".getBytes(StandardCharsets.UTF_8));
        // One byte per chunk: every multi-byte character arrives in pieces.
        Flux<DataBuffer> chunks = Flux.range(0, body.length)
                .map(i -> DefaultDataBufferFactory.sharedInstance.wrap(new byte[] {body[i]}));
        web.post().uri("/v1/chat/completions").contentType(MediaType.APPLICATION_JSON)
                .body(chunks, DataBuffer.class)
                .exchange()
                .expectStatus().isOk();
        assertThat(fake.lastTokenize.get().getMessages(0).getContent()).isEqualTo("€😀");
    }
}
