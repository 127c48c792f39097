package io.tianshu.gateway.batches;

import java.util.List;
import org.springframework.jdbc.core.JdbcTemplate;
import org.springframework.stereotype.Component;

/**
 * How far the batch service's usage ledger has been charged: one row (batch_usage_cursor),
 * shared by every gateway instance on the database. Blocking; call inside the transaction
 * that charges the records the cursor moves past.
 */
@Component
class UsageCursor {

    private static final String ROW = "jobs";

    private final JdbcTemplate jdbc;

    UsageCursor(JdbcTemplate jdbc) {
        this.jdbc = jdbc;
    }

    /**
     * Locks the cursor for the rest of the transaction and returns it; null when another
     * instance holds it (that one is charging; this one skips the round instead of waiting
     * to charge the same records again).
     */
    Long lockOrSkip() {
        List<Long> found = jdbc.queryForList(
                "SELECT after_sequence FROM batch_usage_cursor WHERE id = ? FOR UPDATE SKIP LOCKED", Long.class, ROW);
        return found.isEmpty() ? null : found.get(0);
    }

    void advance(long afterSequence) {
        jdbc.update("UPDATE batch_usage_cursor SET after_sequence = ?, updated_at = now() WHERE id = ?",
                afterSequence, ROW);
    }

    long current() {
        return jdbc.queryForObject("SELECT after_sequence FROM batch_usage_cursor WHERE id = ?", Long.class, ROW);
    }
}
