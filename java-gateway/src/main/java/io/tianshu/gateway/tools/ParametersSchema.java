package io.tianshu.gateway.tools;

import static io.tianshu.gateway.error.ApiException.invalidRequest;

import com.fasterxml.jackson.databind.JsonNode;
import com.github.benmanes.caffeine.cache.Cache;
import com.github.benmanes.caffeine.cache.Caffeine;
import com.networknt.schema.Error;
import com.networknt.schema.Schema;
import com.networknt.schema.SchemaLocation;
import com.networknt.schema.SchemaRegistry;
import com.networknt.schema.SchemaRegistryConfig;
import com.networknt.schema.dialect.Dialect;
import com.networknt.schema.dialect.Dialects;
import java.util.ArrayDeque;
import java.util.Collections;
import java.util.Deque;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.stream.Collectors;

/**
 * A function's {@code parameters} checked as a JSON Schema: an object, valid against the
 * meta-schema of the dialect its {@code $schema} names (2020-12 when it names none), so that a
 * schema the engine's structured output could not compile is refused here with the reason,
 * before any backend is involved. The meta-schemas are the ones networknt's validator bundles;
 * nothing is fetched over the network.
 */
final class ParametersSchema {

    /**
     * JSON nesting of a parameters object: the meta-schema check recurses once per level, and
     * a schema nested as deep as Jackson reads (1000 levels) overflows a thread's stack. Real
     * function schemas nest a few levels (OpenAI's strict mode allows ten schema levels,
     * about twenty JSON levels).
     */
    static final int MAX_DEPTH = 64;

    // Errors quoted in one refusal; the rest are counted.
    private static final int ERRORS_SHOWN = 3;

    private static final String DEFAULT_DIALECT = withoutEmptyFragment(Dialects.getDraft202012().getId());
    private static final Map<String, Schema> META_SCHEMAS = metaSchemas();

    // Schemas already found valid, by their JSON text: an agent sends the same tools with every
    // request, and the meta-schema check is the costliest part of mapping one.
    private static final long VALID_CACHE_CHARS = 4_000_000;
    private static final Cache<String, Boolean> VALID = Caffeine.newBuilder()
            .maximumWeight(VALID_CACHE_CHARS).weigher((String json, Boolean valid) -> json.length()).build();

    private ParametersSchema() {
    }

    /**
     * @param json the schema's JSON text, as it goes on to the backend
     * @param param where the caller wrote the schema ("tools[0].function.parameters")
     * @param function the function's name, for the message
     */
    static void check(JsonNode parameters, String json, String param, String function) {
        if (VALID.getIfPresent(json) != null) {
            return;
        }
        check(parameters, param, function);
        VALID.put(json, Boolean.TRUE);
    }

    static void check(JsonNode parameters, String param, String function) {
        if (!parameters.isObject()) {
            throw invalidRequest("Invalid type for '" + param + "': expected a JSON Schema object.", param);
        }
        if (nestedDeeperThan(MAX_DEPTH, parameters)) {
            throw invalidRequest("Invalid schema for function '" + function + "': '" + param + "' nests objects and "
                    + "arrays more than " + MAX_DEPTH + " levels deep.", param);
        }
        Schema meta = metaSchema(parameters.get("$schema"), param, function);
        List<Error> errors = meta.validate(parameters);
        if (!errors.isEmpty()) {
            String shown = errors.stream().limit(ERRORS_SHOWN).map(ParametersSchema::describe)
                    .collect(Collectors.joining("; "));
            String more = errors.size() > ERRORS_SHOWN ? " (and " + (errors.size() - ERRORS_SHOWN) + " more)" : "";
            throw invalidRequest("Invalid schema for function '" + function + "': '" + param
                    + "' is not a valid JSON Schema: " + shown + more + ".", param);
        }
    }

    private static Schema metaSchema(JsonNode declared, String param, String function) {
        if (declared == null) {
            return META_SCHEMAS.get(DEFAULT_DIALECT);
        }
        Schema meta = declared.isTextual() ? META_SCHEMAS.get(withoutEmptyFragment(declared.asText())) : null;
        if (meta == null) {
            throw invalidRequest("Invalid schema for function '" + function + "': '" + param + ".$schema' is "
                    + declared + "; supported dialects are " + String.join(", ", META_SCHEMAS.keySet())
                    + " (2020-12 when $schema is absent).", param + ".$schema");
        }
        return meta;
    }

    private static String describe(Error error) {
        String at = error.getInstanceLocation().toString();
        return (at.isEmpty() || at.equals("$") || at.equals("/") ? "at the top level" : "at '" + at + "'") + ": "
                + error.getMessage();
    }

    /** Whether objects and arrays nest deeper than levels; found without recursion (the input is unbounded). */
    private static boolean nestedDeeperThan(int levels, JsonNode root) {
        record Level(JsonNode node, int depth) {
        }
        Deque<Level> pending = new ArrayDeque<>();
        pending.push(new Level(root, 1));
        while (!pending.isEmpty()) {
            Level level = pending.pop();
            if (level.depth() > levels) {
                return true;
            }
            for (JsonNode child : level.node()) {
                if (child.isContainerNode()) {
                    pending.push(new Level(child, level.depth() + 1));
                }
            }
        }
        return false;
    }

    /** "http://json-schema.org/draft-07/schema#" and "...schema" name the same dialect. */
    private static String withoutEmptyFragment(String id) {
        return id.endsWith("#") ? id.substring(0, id.length() - 1) : id;
    }

    private static Map<String, Schema> metaSchemas() {
        List<Dialect> dialects = List.of(Dialects.getDraft4(), Dialects.getDraft6(), Dialects.getDraft7(),
                Dialects.getDraft201909(), Dialects.getDraft202012());
        // English whatever the server's locale: the messages go into the API's (English) errors.
        SchemaRegistry registry = SchemaRegistry.withDialects(dialects, builder -> builder.schemaRegistryConfig(
                SchemaRegistryConfig.builder().locale(Locale.ENGLISH).build()));
        Map<String, Schema> byId = new LinkedHashMap<>();
        for (Dialect dialect : dialects) {
            Schema meta = registry.getSchema(SchemaLocation.of(dialect.getId()));
            // Resolved now, once: validate() would otherwise resolve references on first use.
            meta.initializeValidators();
            byId.put(withoutEmptyFragment(dialect.getId()), meta);
        }
        return Collections.unmodifiableMap(byId);
    }
}
