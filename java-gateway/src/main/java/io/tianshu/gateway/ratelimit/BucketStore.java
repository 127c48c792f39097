package io.tianshu.gateway.ratelimit;

import io.tianshu.gateway.db.SqlArrays;
import java.time.Duration;
import java.util.List;
import org.springframework.jdbc.core.JdbcTemplate;
import org.springframework.stereotype.Component;

/**
 * Rate-limit buckets in PostgreSQL, shared by every gateway instance on the database. Each
 * admission is one call of rate_admit, which takes from all of a request's buckets or from
 * none, under row locks. Blocking: call through {@link io.tianshu.gateway.db.Blocking}.
 */
@Component
class BucketStore {

    record Take(String bucket, double capacity, double amount) {
    }

    record State(String bucket, double capacity, double level, boolean granted) {
    }

    private final JdbcTemplate jdbc;

    BucketStore(JdbcTemplate jdbc) {
        this.jdbc = jdbc;
    }

    List<State> admit(List<Take> takes, Duration window) {
        return jdbc.query("SELECT * FROM rate_admit(?, ?, ?, ?)", ps -> {
            SqlArrays.setText(ps, 1, takes.stream().map(Take::bucket).toList());
            SqlArrays.setDouble(ps, 2, takes.stream().mapToDouble(Take::capacity).toArray());
            SqlArrays.setDouble(ps, 3, takes.stream().mapToDouble(Take::amount).toArray());
            ps.setDouble(4, window.toNanos() / 1e9);
        }, (rs, n) -> new State(rs.getString("bucket"), rs.getDouble("capacity"), rs.getDouble("level"),
                rs.getBoolean("granted")));
    }

    /**
     * Takes the amounts whatever the buckets' levels, even below zero: for usage that already
     * happened elsewhere. Creates buckets not used yet, full, first.
     */
    void charge(List<Take> takes, Duration window) {
        jdbc.query("SELECT rate_charge(?, ?, ?, ?)", ps -> {
            SqlArrays.setText(ps, 1, takes.stream().map(Take::bucket).toList());
            SqlArrays.setDouble(ps, 2, takes.stream().mapToDouble(Take::capacity).toArray());
            SqlArrays.setDouble(ps, 3, takes.stream().mapToDouble(Take::amount).toArray());
            ps.setDouble(4, window.toNanos() / 1e9);
        }, rs -> null);
    }

    /** Gives back (positive amounts) or takes more (negative) once real usage is known. */
    void settle(List<Take> deltas, Duration window) {
        jdbc.query("SELECT rate_settle(?, ?, ?, ?)", ps -> {
            SqlArrays.setText(ps, 1, deltas.stream().map(Take::bucket).toList());
            SqlArrays.setDouble(ps, 2, deltas.stream().mapToDouble(Take::capacity).toArray());
            SqlArrays.setDouble(ps, 3, deltas.stream().mapToDouble(Take::amount).toArray());
            ps.setDouble(4, window.toNanos() / 1e9);
        }, rs -> null);
    }
}
