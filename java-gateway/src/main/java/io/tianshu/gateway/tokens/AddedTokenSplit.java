package io.tianshu.gateway.tokens;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.google.protobuf.ByteString;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.function.ToIntFunction;

/**
 * A text's token count as the sum of its pieces' counts: Hugging Face tokenizers cut the input
 * at its added tokens ({@code <|im_start|>}, {@code <|im_end|>}, ...) before anything else, and
 * tokenize each piece between them on its own, so the count of a rendered chat is the pieces'
 * counts plus one per added token. A piece (a system prompt with its tools, an earlier turn)
 * recurs in every request of a conversation, and its count can be looked up instead of
 * encoded again.
 *
 * <p>Only where that cut is exact: no added token strips the whitespace beside it or matches
 * whole words only, and none is matched after a normalizer changed the text. Matching is
 * leftmost-longest, as the tokenizers library matches added tokens.
 */
final class AddedTokenSplit {

    // Added tokens by their first character, longest first.
    private final Map<Character, String[]> byFirstChar;

    private AddedTokenSplit(Map<Character, String[]> byFirstChar) {
        this.byFirstChar = byFirstChar;
    }

    /** The split of a tokenizer.json, or empty where pieces would not count as the whole text does. */
    static Optional<AddedTokenSplit> of(ByteString tokenizerJson) {
        JsonNode definition;
        try (InputStream in = tokenizerJson.newInput()) {
            definition = new ObjectMapper().readTree(in);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        boolean normalizes = !definition.path("normalizer").isNull() && !definition.path("normalizer").isMissingNode();
        Map<Character, List<String>> tokens = new HashMap<>();
        for (JsonNode added : definition.path("added_tokens")) {
            String content = added.path("content").asText("");
            if (content.isEmpty() || added.path("lstrip").asBoolean() || added.path("rstrip").asBoolean()
                    || added.path("single_word").asBoolean() || normalizes && added.path("normalized").asBoolean()) {
                return Optional.empty();
            }
            tokens.computeIfAbsent(content.charAt(0), c -> new ArrayList<>()).add(content);
        }
        Map<Character, String[]> byFirstChar = new HashMap<>();
        tokens.forEach((first, contents) -> byFirstChar.put(first, contents.stream()
                .sorted(Comparator.comparingInt(String::length).reversed()).toArray(String[]::new)));
        return Optional.of(new AddedTokenSplit(byFirstChar));
    }

    /**
     * The text's token count (no special tokens added around it).
     *
     * @param pieceCount the count of a piece that holds no added token
     */
    int count(String text, ToIntFunction<String> pieceCount) {
        int total = 0;
        int pieceStart = 0;
        int at = 0;
        while (at < text.length()) {
            String token = addedTokenAt(text, at);
            if (token == null) {
                at++;
                continue;
            }
            if (at > pieceStart) {
                total += pieceCount.applyAsInt(text.substring(pieceStart, at));
            }
            total++;
            at += token.length();
            pieceStart = at;
        }
        if (pieceStart < text.length()) {
            total += pieceCount.applyAsInt(text.substring(pieceStart));
        }
        return total;
    }

    private String addedTokenAt(String text, int at) {
        String[] candidates = byFirstChar.get(text.charAt(at));
        if (candidates != null) {
            for (String candidate : candidates) {
                if (text.startsWith(candidate, at)) {
                    return candidate;
                }
            }
        }
        return null;
    }
}
