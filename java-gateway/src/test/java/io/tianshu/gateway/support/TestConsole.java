package io.tianshu.gateway.support;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.zip.GZIPOutputStream;

/**
 * A console build as the bootstrap writes it, in a temporary folder every test context serves:
 * a page, one content-hashed script and that script gzipped beside it.
 */
public final class TestConsole {

    public static final String PAGE = "<!doctype html><title>Tianshu</title><script type=module src=/assets/app-1a2b3c.js></script>";
    public static final String SCRIPT_PATH = "/assets/app-1a2b3c.js";
    public static final String SCRIPT = "console.log('tianshu console');\n".repeat(50);
    private static final Path DIR;

    static {
        try {
            DIR = Files.createTempDirectory("tianshu-test-console");
            Files.writeString(DIR.resolve("index.html"), PAGE);
            Path assets = Files.createDirectories(DIR.resolve("assets"));
            Files.writeString(assets.resolve("app-1a2b3c.js"), SCRIPT);
            Files.write(assets.resolve("app-1a2b3c.js.gz"), gzip(SCRIPT));
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    private TestConsole() {
    }

    public static Path dir() {
        return DIR;
    }

    public static byte[] gzip(String text) throws IOException {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        try (GZIPOutputStream zip = new GZIPOutputStream(out)) {
            zip.write(text.getBytes(StandardCharsets.UTF_8));
        }
        return out.toByteArray();
    }
}
