package io.tianshu.gateway.auth;

import java.util.Arrays;
import java.util.List;
import java.util.Set;
import java.util.stream.Collectors;

/** What a caller may do. Routes ask for one scope each; admin is not a superset of the others. */
public enum Scope {
    CHAT("chat"),
    EMBEDDINGS("embeddings"),
    RAG_READ("rag:read"),
    RAG_WRITE("rag:write"),
    BATCH("batch"),
    ADMIN("admin");

    private final String value;

    Scope(String value) {
        this.value = value;
    }

    public String value() {
        return value;
    }

    /** The Spring Security authority that stands for this scope. */
    public String authority() {
        return "SCOPE_" + value;
    }

    public static Set<String> all() {
        return Arrays.stream(values()).map(Scope::value).collect(Collectors.toCollection(java.util.TreeSet::new));
    }

    /** The names that are scopes; throws on any other, naming it. */
    public static List<String> validate(List<String> names) {
        Set<String> known = all();
        for (String name : names) {
            if (name == null || !known.contains(name)) {
                throw new IllegalArgumentException("unknown scope '" + name + "'; known: " + known);
            }
        }
        return names.stream().distinct().sorted().toList();
    }
}
