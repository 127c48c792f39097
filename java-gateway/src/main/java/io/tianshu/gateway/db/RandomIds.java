package io.tianshu.gateway.db;

import java.security.SecureRandom;

/** Ids of the rows the gateway creates for callers (files, vector stores), as unguessable as OpenAI's. */
public final class RandomIds {

    private static final String ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
    private static final SecureRandom RANDOM = new SecureRandom();

    private RandomIds() {
    }

    /** The prefix and 24 random base-62 characters (143 bits). */
    public static String of(String prefix) {
        StringBuilder id = new StringBuilder(prefix);
        for (int i = 0; i < 24; i++) {
            id.append(ALPHABET.charAt(RANDOM.nextInt(ALPHABET.length())));
        }
        return id.toString();
    }
}
