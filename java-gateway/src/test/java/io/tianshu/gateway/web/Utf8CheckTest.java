package io.tianshu.gateway.web;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.ByteBuffer;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.util.HexFormat;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

class Utf8CheckTest {

    /** -1 when the bytes are well-formed UTF-8 fed in pieces of {@code piece} bytes, else the first bad offset. */
    private static long check(byte[] bytes, int piece) {
        Utf8Check check = new Utf8Check();
        for (int from = 0; from < bytes.length; from += piece) {
            long bad = check.feed(ByteBuffer.wrap(bytes, from, Math.min(piece, bytes.length - from)));
            if (bad >= 0) {
                return bad;
            }
        }
        return check.complete() ? -1 : bytes.length;
    }

    @Test
    void wellFormedTextPassesHoweverItIsSplit() {
        byte[] text = "{\"content\": \"ascii, é, €, 中文, 😀\"}".getBytes(StandardCharsets.UTF_8);
        for (int piece = 1; piece <= text.length; piece++) {
            assertThat(check(text, piece)).as("pieces of %d", piece).isEqualTo(-1);
        }
    }

    @ParameterizedTest(name = "{1}")
    @CsvSource({
        "41ff42, a byte that is never UTF-8, 1, ff",
        "41c0af, an overlong two-byte form of '/', 1, c0",
        "41e080af, an overlong three-byte form, 2, 80",
        "41eda080, a surrogate, 2, a0",
        "41f4908080, a code point above U+10FFFF, 2, 90",
        "4180, a lone continuation byte, 1, 80",
        "41c341, a character cut by the next one, 2, 41",
    })
    void malformedBytesAreFoundAtTheirOffset(String hex, String what, long offset, String culprit) {
        byte[] bytes = HexFormat.of().parseHex(hex);
        for (int piece = 1; piece <= bytes.length; piece++) {
            Utf8Check check = new Utf8Check();
            long bad = -1;
            for (int from = 0; from < bytes.length && bad < 0; from += piece) {
                bad = check.feed(ByteBuffer.wrap(bytes, from, Math.min(piece, bytes.length - from)));
            }
            assertThat(bad).as("pieces of %d", piece).isEqualTo(offset);
            assertThat(check.culprit()).isEqualTo(Integer.parseInt(culprit, 16));
        }
    }

    @Test
    void inputEndingInsideACharacterIsIncomplete() {
        Utf8Check check = new Utf8Check();
        assertThat(check.feed(ByteBuffer.wrap(new byte[] {0x41, (byte) 0xE2, (byte) 0x82}))).isEqualTo(-1);
        assertThat(check.complete()).isFalse();
        assertThat(check.feed(ByteBuffer.wrap(new byte[] {(byte) 0xAC}))).isEqualTo(-1);
        assertThat(check.complete()).isTrue();
    }

    /** The JDK's strict decoder is the reference: the same verdict on random bytes, whatever the split. */
    @Test
    void agreesWithTheJdksStrictDecoderOnRandomBytes() {
        Random random = new Random(31);
        for (int n = 0; n < 20_000; n++) {
            byte[] bytes = new byte[1 + random.nextInt(12)];
            for (int i = 0; i < bytes.length; i++) {
                // Mostly high bytes, so that every kind of lead and continuation turns up.
                bytes[i] = (byte) (random.nextInt(4) == 0 ? random.nextInt(0x80) : 0x80 + random.nextInt(0x80));
            }
            boolean jdk = strictlyDecodes(bytes);
            assertThat(check(bytes, 1 + random.nextInt(bytes.length)) < 0).as(HexFormat.of().formatHex(bytes))
                    .isEqualTo(jdk);
        }
    }

    private static boolean strictlyDecodes(byte[] bytes) {
        try {
            StandardCharsets.UTF_8.newDecoder().onMalformedInput(CodingErrorAction.REPORT)
                    .onUnmappableCharacter(CodingErrorAction.REPORT).decode(ByteBuffer.wrap(bytes));
            return true;
        } catch (CharacterCodingException e) {
            return false;
        }
    }
}
