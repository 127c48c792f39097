package io.tianshu.gateway.error;

import com.fasterxml.jackson.core.JsonLocation;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.core.exc.InputCoercionException;
import com.fasterxml.jackson.core.exc.StreamConstraintsException;
import com.fasterxml.jackson.core.exc.StreamReadException;
import com.fasterxml.jackson.core.io.JsonEOFException;
import com.fasterxml.jackson.databind.JsonMappingException;
import com.fasterxml.jackson.databind.exc.MismatchedInputException;
import java.time.temporal.Temporal;
import java.util.Collection;
import java.util.Map;
import java.util.UUID;
import java.util.regex.Pattern;
import org.springframework.beans.TypeMismatchException;
import org.springframework.core.MethodParameter;
import org.springframework.http.HttpStatus;
import org.springframework.web.server.ServerWebInputException;

/**
 * Failures to read the request (its JSON body, a query parameter), phrased with the path of
 * the offending field. Jackson's and Spring's own messages are used only where they describe
 * the JSON text; where they name Java types, parser features or settings they are replaced.
 */
final class JsonBodyErrors {

    private static final String UNPARSABLE = "We could not parse the JSON body of your request";
    // What marks a library message as internal: a Java or library name in backticks, a
    // location block, a package name.
    private static final Pattern INTERNAL = Pattern.compile("`|\\[Source|\\bjava\\.|\\bcom\\.fasterxml|\\bio\\.tianshu");

    private JsonBodyErrors() {
    }

    static ApiError fromInput(ServerWebInputException e) {
        return new ApiError(HttpStatus.BAD_REQUEST, describe(e));
    }

    private static OpenAiError describe(ServerWebInputException e) {
        StreamConstraintsException limit = findCause(e, StreamConstraintsException.class);
        if (limit != null) {
            return invalid(UNPARSABLE + ": " + beyondLimits(limit) + ".", null);
        }
        JsonMappingException mapping = findCause(e, JsonMappingException.class);
        String param = mapping == null ? null : pathOf(mapping);
        InputCoercionException range = findCause(e, InputCoercionException.class);
        if (range != null) {
            String expected = describe(range.getTargetType());
            String what = "the number is out of range" + (expected == null ? "" : " for " + expected);
            return invalid(param == null ? UNPARSABLE + ": " + what + "." : "Invalid value for '" + param + "': "
                    + what + ".", param);
        }
        // Broken syntax surfaces wrapped in a mapping error with a path; it is still broken syntax.
        StreamReadException syntax = findCause(e, StreamReadException.class);
        if (syntax != null) {
            String what = syntax instanceof JsonEOFException ? "it ends before the JSON value is complete"
                    : ownWords(syntax.getOriginalMessage());
            return invalid(UNPARSABLE + (what == null ? "" : ": " + what) + at(syntax.getLocation()) + ".", null);
        }
        if (mapping instanceof MismatchedInputException mismatch) {
            if (param != null) {
                String expected = describe(mismatch.getTargetType());
                return invalid(expected == null ? "Invalid value for '" + param + "'."
                        : "Invalid type for '" + param + "': expected " + expected + ".", param);
            }
            return invalid(String.valueOf(mismatch.getOriginalMessage()).startsWith("Trailing token")
                    ? "The request body must be one JSON object with nothing after it."
                    : "The request body must be a JSON object.", null);
        }
        if (mapping != null && param != null) {
            String why = ownWords(mapping.getOriginalMessage());
            return invalid("Invalid value for '" + param + "'" + (why == null ? "." : ": " + why), param);
        }
        JsonProcessingException json = findCause(e, JsonProcessingException.class);
        if (json != null) {
            String why = ownWords(json.getOriginalMessage());
            return invalid(UNPARSABLE + (why == null ? "." : ": " + why), null);
        }
        TypeMismatchException mismatch = findCause(e, TypeMismatchException.class);
        if (mismatch != null) {
            String name = parameterName(e.getMethodParameter());
            String expected = describe(mismatch.getRequiredType());
            return invalid("Invalid value for '" + name + "'" + (expected == null ? "." : ": expected " + expected
                    + "."), name);
        }
        if (e.getReason() != null && e.getReason().contains("No request body")) {
            return invalid("The request body is missing; send a JSON object.", null);
        }
        String reason = e.getReason() == null ? null : ownWords(e.getReason());
        return invalid(reason != null ? reason : "Invalid request.", null);
    }

    private static OpenAiError invalid(String message, String param) {
        return OpenAiError.of(message, "invalid_request_error", param, null);
    }

    /** Jackson's read limits (StreamReadConstraints), without the names of its settings. */
    private static String beyondLimits(StreamConstraintsException e) {
        String message = String.valueOf(e.getOriginalMessage());
        if (message.startsWith("Document nesting depth")) {
            return "it nests arrays and objects deeper than this gateway reads";
        }
        if (message.startsWith("Number value length")) {
            return "it holds a number with more digits than this gateway reads";
        }
        if (message.startsWith("String value length") || message.startsWith("Name length")) {
            return "it holds a string longer than this gateway reads";
        }
        return "it is larger than this gateway reads";
    }

    /**
     * A library message as the caller may read it: up to where it starts naming internals
     * (Jackson appends the feature that would allow a token, or the source's location), or
     * null when nothing readable is left.
     */
    static String ownWords(String message) {
        if (message == null || message.isBlank()) {
            return null;
        }
        var internal = INTERNAL.matcher(message);
        if (!internal.find()) {
            return message.strip();
        }
        String before = message.substring(0, internal.start());
        int cut = Math.max(before.lastIndexOf(':'), before.lastIndexOf('('));
        String kept = (cut < 0 ? "" : before.substring(0, cut)).strip();
        return kept.isEmpty() ? null : kept;
    }

    private static String at(JsonLocation location) {
        if (location == null || location.getLineNr() < 1) {
            return "";
        }
        return " (line " + location.getLineNr() + ", column " + location.getColumnNr() + ")";
    }

    private static String parameterName(MethodParameter parameter) {
        if (parameter == null) {
            return "?";
        }
        var query = parameter.getParameterAnnotation(org.springframework.web.bind.annotation.RequestParam.class);
        if (query != null && !query.name().isEmpty()) {
            return query.name();
        }
        var path = parameter.getParameterAnnotation(org.springframework.web.bind.annotation.PathVariable.class);
        if (path != null && !path.name().isEmpty()) {
            return path.name();
        }
        String name = parameter.getParameterName();
        return name == null ? "?" : name;
    }

    private static <T extends Throwable> T findCause(Throwable t, Class<T> type) {
        for (Throwable c = t; c != null; c = c.getCause() == c ? null : c.getCause()) {
            if (type.isInstance(c)) {
                return type.cast(c);
            }
        }
        return null;
    }

    static String pathOf(JsonMappingException e) {
        StringBuilder path = new StringBuilder();
        for (JsonMappingException.Reference ref : e.getPath()) {
            if (ref.getFieldName() != null) {
                path.append(path.isEmpty() ? "" : ".").append(ref.getFieldName());
            } else if (ref.getIndex() >= 0) {
                path.append('[').append(ref.getIndex()).append(']');
            }
        }
        return path.isEmpty() ? null : path.toString();
    }

    /** The JSON kind of a Java type, as the caller wrote it; null for a type with no plain name. */
    private static String describe(Class<?> type) {
        if (type == null) {
            return null;
        }
        if (type == Integer.class || type == Long.class || type == int.class || type == long.class
                || type == Short.class || type == short.class) {
            return "an integer";
        }
        if (Number.class.isAssignableFrom(type) || type == double.class || type == float.class) {
            return "a number";
        }
        if (type == Boolean.class || type == boolean.class) {
            return "a boolean";
        }
        if (type == String.class) {
            return "a string";
        }
        if (Temporal.class.isAssignableFrom(type)) {
            return "an ISO-8601 date-time such as \"2027-01-31T00:00:00Z\"";
        }
        if (type == UUID.class) {
            return "a UUID";
        }
        if (Collection.class.isAssignableFrom(type) || type.isArray()) {
            return "an array";
        }
        if (Map.class.isAssignableFrom(type) || type.isRecord()) {
            return "an object";
        }
        return null;
    }
}
