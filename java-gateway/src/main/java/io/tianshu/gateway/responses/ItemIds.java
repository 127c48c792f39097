package io.tianshu.gateway.responses;

import java.security.SecureRandom;
import java.util.HexFormat;

/** Ids of responses and their items: a kind prefix and 24 random bytes, as unguessable as OpenAI's. */
final class ItemIds {

    private static final SecureRandom RANDOM = new SecureRandom();

    private ItemIds() {
    }

    /** @param prefix "resp", "msg", "fc", ... */
    static String next(String prefix) {
        byte[] bytes = new byte[24];
        RANDOM.nextBytes(bytes);
        return prefix + "_" + HexFormat.of().formatHex(bytes);
    }
}
