package io.tianshu.gateway.auth;

import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.security.SecureRandom;
import java.util.Base64;

/**
 * The api key format: {@code tsk_} + 43 url-safe characters (32 random bytes). Only its
 * SHA-256 is stored; its first {@value #PREFIX_LENGTH} characters are stored too, in clear,
 * to find the row and to let people tell keys apart. A fast hash is enough: the key has 256
 * bits of entropy, so nothing can be guessed from the hash (unlike a password).
 */
public final class ApiKeys {

    public static final String MARKER = "tsk_";
    static final int PREFIX_LENGTH = 12;
    private static final int RANDOM_BYTES = 32;
    private static final SecureRandom RANDOM = new SecureRandom();

    private ApiKeys() {
    }

    public static String generate() {
        byte[] bytes = new byte[RANDOM_BYTES];
        RANDOM.nextBytes(bytes);
        return MARKER + Base64.getUrlEncoder().withoutPadding().encodeToString(bytes);
    }

    /** Shape check only: marker, then at least 32 url-safe characters. */
    public static boolean wellFormed(String token) {
        return token != null && token.startsWith(MARKER) && token.length() >= MARKER.length() + 32
                && token.substring(MARKER.length()).chars().allMatch(ApiKeys::urlSafe);
    }

    public static String prefix(String key) {
        return key.substring(0, PREFIX_LENGTH);
    }

    public static byte[] hash(String key) {
        try {
            return MessageDigest.getInstance("SHA-256").digest(key.getBytes(StandardCharsets.US_ASCII));
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("SHA-256 is part of every JVM", e);
        }
    }

    /** Constant-time: how long it takes says nothing about how many bytes matched. */
    public static boolean matches(byte[] expectedHash, String presentedKey) {
        return MessageDigest.isEqual(expectedHash, hash(presentedKey));
    }

    private static boolean urlSafe(int c) {
        return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '_';
    }
}
