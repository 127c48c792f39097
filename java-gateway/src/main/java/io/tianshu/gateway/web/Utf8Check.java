package io.tianshu.gateway.web;

import java.nio.ByteBuffer;

/**
 * Checks that bytes arriving in pieces are well-formed UTF-8, without decoding them: the
 * byte ranges of the Unicode Standard's Table 3-7 (as the WHATWG UTF-8 decoder applies them),
 * so overlong forms, surrogates and anything above U+10FFFF are errors. Jackson's own decoder
 * accepts some of these (an overlong two-byte form turns into another character), which is
 * why bodies are checked before it sees them.
 */
final class Utf8Check {

    private int needed;
    private int lower = 0x80;
    private int upper = 0xBF;
    private long offset;
    private int culprit = -1;

    /**
     * Checks the next piece.
     *
     * @return the offset in the whole input of the first byte that cannot be there, or -1
     */
    long feed(ByteBuffer piece) {
        for (int i = piece.position(), end = piece.limit(); i < end; i++, offset++) {
            int b = piece.get(i);
            if (needed == 0) {
                if (b >= 0) {
                    continue;
                }
                b &= 0xFF;
                if (b >= 0xC2 && b <= 0xDF) {
                    needed = 1;
                } else if (b >= 0xE0 && b <= 0xEF) {
                    lower = b == 0xE0 ? 0xA0 : 0x80;
                    upper = b == 0xED ? 0x9F : 0xBF;
                    needed = 2;
                } else if (b >= 0xF0 && b <= 0xF4) {
                    lower = b == 0xF0 ? 0x90 : 0x80;
                    upper = b == 0xF4 ? 0x8F : 0xBF;
                    needed = 3;
                } else {
                    culprit = b;
                    return offset;
                }
            } else {
                b &= 0xFF;
                if (b < lower || b > upper) {
                    culprit = b;
                    return offset;
                }
                lower = 0x80;
                upper = 0xBF;
                needed--;
            }
        }
        return -1;
    }

    /** True when the input so far does not end in the middle of a character. */
    boolean complete() {
        return needed == 0;
    }

    /** The byte {@link #feed} stopped at (0-255), or -1 while there is none. */
    int culprit() {
        return culprit;
    }
}
