package io.tianshu.gateway.ratelimit;

import io.tianshu.gateway.db.Blocking;
import io.tianshu.gateway.db.SqlArrays;
import java.sql.PreparedStatement;
import java.sql.SQLException;
import java.time.Duration;
import java.util.List;
import org.springframework.jdbc.core.JdbcTemplate;
import reactor.core.publisher.Mono;

/**
 * Rate-limit buckets in PostgreSQL, shared by every gateway instance on the database. Each
 * admission is one call of rate_admit, which takes from all of a request's buckets or from
 * none, under row locks; admissions and settlements run on the blocking pool.
 */
class PostgresBucketStore implements BucketStore {

    private final JdbcTemplate jdbc;

    PostgresBucketStore(JdbcTemplate jdbc) {
        this.jdbc = jdbc;
    }

    @Override
    public Mono<List<State>> admit(List<Take> takes, Duration window) {
        return Blocking.call(() -> jdbc.query("SELECT * FROM rate_admit(?, ?, ?, ?)",
                ps -> bind(ps, takes, window),
                (rs, n) -> new State(rs.getString("bucket"), rs.getDouble("capacity"), rs.getDouble("level"),
                        rs.getBoolean("granted"))));
    }

    @Override
    public Mono<Void> settle(List<Take> deltas, Duration window) {
        return Blocking.call(() -> jdbc.query("SELECT rate_settle(?, ?, ?, ?)", ps -> bind(ps, deltas, window),
                rs -> null)).then();
    }

    /** Joins the caller's transaction through the JdbcTemplate, so it commits or rolls back with it. */
    @Override
    public void charge(List<Take> takes, Duration window) {
        jdbc.query("SELECT rate_charge(?, ?, ?, ?)", ps -> bind(ps, takes, window), rs -> null);
    }

    private static void bind(PreparedStatement ps, List<Take> takes, Duration window) throws SQLException {
        SqlArrays.setText(ps, 1, takes.stream().map(Take::bucket).toList());
        SqlArrays.setDouble(ps, 2, takes.stream().mapToDouble(Take::capacity).toArray());
        SqlArrays.setDouble(ps, 3, takes.stream().mapToDouble(Take::amount).toArray());
        ps.setDouble(4, window.toNanos() / 1e9);
    }
}
