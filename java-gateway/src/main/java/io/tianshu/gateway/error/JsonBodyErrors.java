package io.tianshu.gateway.error;

import com.fasterxml.jackson.core.JsonParseException;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonMappingException;
import com.fasterxml.jackson.databind.exc.MismatchedInputException;
import java.util.Collection;
import java.util.Map;
import org.springframework.http.HttpStatus;
import org.springframework.web.server.ServerWebInputException;

/** Failures to read the JSON body, phrased with the path of the offending field. */
final class JsonBodyErrors {

    private JsonBodyErrors() {
    }

    static ApiError fromInput(ServerWebInputException e) {
        JsonProcessingException json = findCause(e, JsonProcessingException.class);
        // Broken syntax surfaces wrapped in a mapping error with a path; it is still broken syntax.
        JsonParseException syntax = findCause(e, JsonParseException.class);
        String message;
        String param = null;
        if (syntax != null) {
            message = "We could not parse the JSON body of your request: " + syntax.getOriginalMessage();
        } else if (json instanceof MismatchedInputException mismatch) {
            param = pathOf(mismatch);
            message = param == null
                    ? "The request body must be a JSON object."
                    : "Invalid type for '" + param + "': expected " + describe(mismatch.getTargetType()) + ".";
        } else if (json instanceof JsonMappingException mapping && pathOf(mapping) != null) {
            param = pathOf(mapping);
            message = "Invalid value for '" + param + "': " + mapping.getOriginalMessage();
        } else if (json != null) {
            message = "We could not parse the JSON body of your request: " + json.getOriginalMessage();
        } else if (e.getReason() != null && e.getReason().contains("No request body")) {
            message = "The request body is missing; send a JSON object.";
        } else {
            message = e.getReason() != null ? e.getReason() : "Invalid request.";
        }
        return new ApiError(HttpStatus.BAD_REQUEST, OpenAiError.of(message, "invalid_request_error", param, null));
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

    private static String describe(Class<?> type) {
        if (type == null) {
            return "another type";
        }
        if (type == Integer.class || type == Long.class || type == int.class || type == long.class) {
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
        if (Collection.class.isAssignableFrom(type) || type.isArray()) {
            return "an array";
        }
        if (Map.class.isAssignableFrom(type) || type.isRecord()) {
            return "an object";
        }
        return "another type";
    }
}
