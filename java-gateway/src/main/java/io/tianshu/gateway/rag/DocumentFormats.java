package io.tianshu.gateway.rag;

import java.util.Locale;
import java.util.Map;
import java.util.Set;

/**
 * The content type the RAG service is told for a document: the declared one without its
 * parameters, or, when the client declared nothing useful (browsers and curl send
 * application/octet-stream for unknown files), the one the file name's extension implies.
 * Types the service does not take are passed on as they are, for it to refuse by name.
 */
public final class DocumentFormats {

    static final String TEXT = "text/plain";
    /** What the RAG service reads (python-rag, ingestion/parsing.py). */
    public static final Set<String> SUPPORTED = Set.of(TEXT, "text/markdown", "text/html", "application/pdf");

    private static final Map<String, String> ALIASES = Map.of(
            "text/x-markdown", "text/markdown",
            "application/xhtml+xml", "text/html");
    private static final Map<String, String> EXTENSIONS = Map.of(
            "txt", TEXT, "text", TEXT,
            "md", "text/markdown", "markdown", "text/markdown",
            "html", "text/html", "htm", "text/html",
            "pdf", "application/pdf");

    private DocumentFormats() {
    }

    /** @return the content type, or null when neither the declaration nor the name says */
    public static String of(String declared, String filename) {
        String type = declared == null ? "" : declared.split(";", 2)[0].trim().toLowerCase(Locale.ROOT);
        if (!type.isEmpty() && !type.equals("application/octet-stream")) {
            return ALIASES.getOrDefault(type, type);
        }
        if (filename != null && filename.lastIndexOf('.') >= 0) {
            String extension = filename.substring(filename.lastIndexOf('.') + 1).toLowerCase(Locale.ROOT);
            return EXTENSIONS.get(extension);
        }
        return null;
    }
}
