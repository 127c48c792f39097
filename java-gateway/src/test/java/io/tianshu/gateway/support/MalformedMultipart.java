package io.tianshu.gateway.support;

import java.nio.charset.StandardCharsets;
import java.util.List;

/**
 * Bodies that claim to be multipart/form-data and are not, as a schema-driven fuzzer sends
 * them: each must be refused as the caller's mistake, never answered 500.
 *
 * @param name what is wrong with it, for assertion messages
 * @param contentType the Content-Type header sent
 * @param body the bytes sent
 * @param problem what the error message must say
 */
public record MalformedMultipart(String name, String contentType, byte[] body, String problem) {

    private static final String BOUNDARY = "tianshu-test-boundary";

    public static List<MalformedMultipart> cases() {
        return List.of(
                new MalformedMultipart("no boundary", "multipart/form-data", bytes("file=abc"),
                        "has no boundary parameter"),
                new MalformedMultipart("not multipart", "multipart/form-data; boundary=" + BOUNDARY,
                        bytes("{\"this\": \"is json\"}"), "does not start with the boundary"),
                new MalformedMultipart("cut short", "multipart/form-data; boundary=" + BOUNDARY,
                        bytes("--" + BOUNDARY + "\r\nContent-Disposition: form-data; name=\"file\"; "
                                + "filename=\"a.jsonl\"\r\n\r\n{\"custom_id\": \"a\""),
                        "ends before the closing boundary"),
                new MalformedMultipart("headers without an end", "multipart/form-data; boundary=" + BOUNDARY,
                        bytes("--" + BOUNDARY + "\r\nContent-Disposition: form-data; name=\"purpose\""),
                        "headers are not ended by a blank line"));
    }

    private static byte[] bytes(String text) {
        return text.getBytes(StandardCharsets.UTF_8);
    }

    @Override
    public String toString() {
        return name;
    }
}
