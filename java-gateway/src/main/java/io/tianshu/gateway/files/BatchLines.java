package io.tianshu.gateway.files;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CharsetDecoder;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.function.Consumer;

/**
 * The lines of an OpenAI batch input file: one JSON object per line,
 * {@code {"custom_id", "method": "POST", "url", "body"}}. Read from a stream one line at a
 * time, so checking a file costs one line of memory, not the file. Blank lines are skipped;
 * line numbers count every line of the file, from 1, as an editor shows them.
 */
public final class BatchLines {

    /** The endpoints a line may call; what the batch service runs. */
    public static final Set<String> URLS = Set.of("/v1/chat/completions", "/v1/embeddings");

    /** Problems named in one error message; the rest are counted. */
    static final int PROBLEMS_SHOWN = 20;

    /**
     * One request line; body is its JSON text, checked here only for being an object: what it
     * means is the endpoint's mapper's to say, when a batch is created from the file.
     */
    public record Line(int number, String customId, String method, String url, String body) {
    }

    /** What a check found: request lines, and every problem (its line and what is wrong). */
    public record Report(int lines, List<String> problems) {
        public boolean valid() {
            return problems.isEmpty() && lines > 0;
        }

        /** The first problems, one per line number, for an error message. */
        public String describe() {
            if (lines == 0 && problems.isEmpty()) {
                return "The file has no request lines.";
            }
            return invalid(problems);
        }

        /** "The file has N invalid lines: line 3: ...; line 7: ...", the first problems named. */
        public static String invalid(List<String> problems) {
            StringBuilder text = new StringBuilder("The file has ").append(problems.size())
                    .append(problems.size() == 1 ? " invalid line: " : " invalid lines: ");
            // Problems that are sentences of their own lose their full stop inside the list.
            text.append(problems.subList(0, Math.min(PROBLEMS_SHOWN, problems.size())).stream()
                    .map(p -> p.endsWith(".") ? p.substring(0, p.length() - 1) : p)
                    .collect(java.util.stream.Collectors.joining("; ")));
            if (problems.size() > PROBLEMS_SHOWN) {
                text.append("; and ").append(problems.size() - PROBLEMS_SHOWN).append(" more");
            }
            return text.append('.').toString();
        }
    }

    private BatchLines() {
    }

    /** Checks every line of an upload; never throws for bad content, only for failed reads. */
    public static Report check(InputStream in, ObjectMapper json) {
        List<String> problems = new ArrayList<>();
        Set<String> customIds = new HashSet<>();
        int[] lines = {0};
        forEachLine(in, (number, bytes) -> {
            lines[0]++;
            try {
                Line line = parse(number, bytes, json);
                if (!customIds.add(line.customId())) {
                    problems.add("line " + number + ": custom_id '" + line.customId()
                            + "' is used by an earlier line; each must be unique");
                }
            } catch (IllegalArgumentException bad) {
                problems.add("line " + number + ": " + bad.getMessage());
            }
        });
        return new Report(lines[0], problems);
    }

    /** Every request line of a file already checked by {@link #check}, in order. */
    public static void read(InputStream in, ObjectMapper json, Consumer<Line> each) {
        forEachLine(in, (number, bytes) -> each.accept(parse(number, bytes, json)));
    }

    /** @throws IllegalArgumentException naming what is wrong with the line */
    static Line parse(int number, byte[] bytes, ObjectMapper json) {
        String text = utf8(bytes);
        JsonNode node;
        try {
            node = json.readTree(text);
        } catch (JsonProcessingException e) {
            throw new IllegalArgumentException("not valid JSON (" + e.getOriginalMessage() + ")");
        }
        if (node == null || !node.isObject()) {
            throw new IllegalArgumentException("not a JSON object");
        }
        JsonNode customId = node.get("custom_id");
        if (customId == null || !customId.isTextual() || customId.asText().isEmpty()) {
            throw new IllegalArgumentException("custom_id must be a non-empty string");
        }
        JsonNode method = node.get("method");
        if (method == null || !"POST".equals(method.asText(null))) {
            throw new IllegalArgumentException("method must be \"POST\"");
        }
        JsonNode url = node.get("url");
        if (url == null || !url.isTextual() || !URLS.contains(url.asText())) {
            throw new IllegalArgumentException("url must be one of " + URLS.stream().sorted().toList());
        }
        JsonNode body = node.get("body");
        if (body == null || !body.isObject()) {
            throw new IllegalArgumentException("body must be a JSON object");
        }
        return new Line(number, customId.asText(), "POST", url.asText(), body.toString());
    }

    private static String utf8(byte[] bytes) {
        // A fresh strict decoder: the lenient String constructor would turn bad bytes into U+FFFD.
        CharsetDecoder decoder = StandardCharsets.UTF_8.newDecoder()
                .onMalformedInput(CodingErrorAction.REPORT).onUnmappableCharacter(CodingErrorAction.REPORT);
        try {
            return decoder.decode(ByteBuffer.wrap(bytes)).toString();
        } catch (CharacterCodingException e) {
            throw new IllegalArgumentException("not valid UTF-8");
        }
    }

    private interface LineHandler {
        void line(int number, byte[] bytes);
    }

    /** Splits on '\n' (a '\r' before it is dropped) and skips lines that are only whitespace. */
    private static void forEachLine(InputStream in, LineHandler handler) {
        ByteArrayOutputStream line = new ByteArrayOutputStream();
        int number = 0;
        try {
            byte[] chunk = new byte[64 * 1024];
            for (int n; (n = in.read(chunk)) != -1; ) {
                for (int i = 0; i < n; i++) {
                    if (chunk[i] == '\n') {
                        deliver(++number, line, handler);
                    } else {
                        line.write(chunk[i]);
                    }
                }
            }
            if (line.size() > 0) {
                deliver(++number, line, handler);
            }
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    private static void deliver(int number, ByteArrayOutputStream line, LineHandler handler) {
        byte[] bytes = line.toByteArray();
        line.reset();
        int end = bytes.length;
        if (end > 0 && bytes[end - 1] == '\r') {
            end--;
        }
        boolean blank = true;
        for (int i = 0; i < end && blank; i++) {
            blank = bytes[i] == ' ' || bytes[i] == '\t';
        }
        if (!blank) {
            handler.line(number, end == bytes.length ? bytes : java.util.Arrays.copyOf(bytes, end));
        }
    }
}
