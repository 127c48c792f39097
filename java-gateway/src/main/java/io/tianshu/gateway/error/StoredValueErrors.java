package io.tianshu.gateway.error;

import java.sql.SQLException;
import org.springframework.dao.DataIntegrityViolationException;
import org.springframework.http.HttpStatus;

/**
 * PostgreSQL refusing a value the request carried (SQLSTATE class 22, "data exception"): a
 * NUL character in text, a string longer than its column, a time out of range. The caller's
 * input, not the gateway's failure, so a 400 in our words; PostgreSQL's message names columns
 * and types and goes to the log.
 */
final class StoredValueErrors {

    private StoredValueErrors() {
    }

    /** The SQLSTATE of a data exception in the chain, or null when the failure is another kind. */
    static String dataExceptionState(Throwable t) {
        if (!(t instanceof DataIntegrityViolationException)) {
            return null;
        }
        for (Throwable c = t; c != null; c = c.getCause() == c ? null : c.getCause()) {
            if (c instanceof SQLException sql && sql.getSQLState() != null && sql.getSQLState().startsWith("22")) {
                return sql.getSQLState();
            }
        }
        return null;
    }

    static ApiError refused(String sqlState) {
        String message = switch (sqlState) {
            // character_not_in_repertoire (NUL in text), untranslatable_character (\u0000 in JSON)
            case "22021", "22P05" -> "A text value in the request holds a NUL character (U+0000), which cannot be "
                    + "stored.";
            // string_data_right_truncation
            case "22001" -> "A text value in the request is longer than the gateway stores.";
            default -> "A value in the request cannot be stored.";
        };
        return new ApiError(HttpStatus.BAD_REQUEST, OpenAiError.of(message, "invalid_request_error", null,
                "invalid_value"));
    }
}
