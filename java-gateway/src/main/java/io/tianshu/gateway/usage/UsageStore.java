package io.tianshu.gateway.usage;

import com.fasterxml.jackson.databind.PropertyNamingStrategies;
import com.fasterxml.jackson.databind.annotation.JsonNaming;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Locale;
import java.util.List;
import java.util.UUID;
import org.springframework.jdbc.core.JdbcTemplate;
import org.springframework.stereotype.Component;
import org.springframework.transaction.annotation.Transactional;

/** One usage row per model call; sums for the admin API. Blocking: call through Blocking. */
@Component
public class UsageStore {

    public record Call(String tenant, UUID keyId, String subject, String endpoint, String model, int promptTokens,
            int completionTokens, String requestId) {
    }

    @JsonNaming(PropertyNamingStrategies.SnakeCaseStrategy.class)
    public record Summary(String tenant, UUID keyId, String endpoint, String model, long requests, long promptTokens,
            long completionTokens, long totalTokens) {
    }

    /** One period's totals of one tenant's key (key_id null: batch lines and JWT callers). */
    @JsonNaming(PropertyNamingStrategies.SnakeCaseStrategy.class)
    public record Point(Instant periodStart, String tenant, UUID keyId, long requests, long promptTokens,
            long completionTokens, long totalTokens) {
    }

    /** The periods a series can be cut into, as PostgreSQL's date_trunc names them. */
    public enum Interval { HOUR, DAY }

    private final JdbcTemplate jdbc;

    UsageStore(JdbcTemplate jdbc) {
        this.jdbc = jdbc;
    }

    /** One row per call, in one transaction: all are recorded or none. */
    @Transactional
    public void record(List<Call> calls) {
        jdbc.batchUpdate("""
                INSERT INTO usage_record (tenant_id, key_id, subject, endpoint, model, prompt_tokens, completion_tokens,
                                          request_id)
                VALUES (?, ?, ?, ?, ?, ?, ?, ?)""", calls, calls.size(), (ps, call) -> {
            ps.setString(1, call.tenant());
            ps.setObject(2, call.keyId());
            ps.setString(3, call.subject());
            ps.setString(4, call.endpoint());
            ps.setString(5, call.model());
            ps.setInt(6, call.promptTokens());
            ps.setInt(7, call.completionTokens());
            ps.setString(8, call.requestId());
        });
    }

    /**
     * Totals per tenant, key, endpoint and model; each filter is optional. Batch lines are
     * rows of endpoint /v1/batches without a key, so a tenant's batch tokens show apart.
     */
    public List<Summary> summarize(String tenant, UUID keyId) {
        StringBuilder sql = new StringBuilder("""
                SELECT tenant_id, key_id, endpoint, model, count(*) AS requests, sum(prompt_tokens) AS prompt,
                       sum(completion_tokens) AS completion
                FROM usage_record WHERE true""");
        List<Object> args = new ArrayList<>();
        filter(sql, args, tenant, keyId);
        sql.append(" GROUP BY tenant_id, key_id, endpoint, model ORDER BY tenant_id, endpoint, model");
        return jdbc.query(sql.toString(), (rs, n) -> new Summary(rs.getString("tenant_id"),
                rs.getObject("key_id", UUID.class), rs.getString("endpoint"), rs.getString("model"), rs.getLong("requests"),
                rs.getLong("prompt"), rs.getLong("completion"), rs.getLong("prompt") + rs.getLong("completion")),
                args.toArray());
    }

    /**
     * Totals per period (UTC), tenant and key since {@code since}, oldest first; each filter is
     * optional. The console draws its usage charts from these.
     */
    public List<Point> series(String tenant, UUID keyId, Interval interval, Instant since) {
        // The interval is an enum's name, never caller text: safe to place in the statement.
        String period = "date_trunc('" + interval.name().toLowerCase(Locale.ROOT) + "', at, 'UTC')";
        StringBuilder sql = new StringBuilder("SELECT " + period + """
                 AS period, tenant_id, key_id, count(*) AS requests, sum(prompt_tokens) AS prompt,
                       sum(completion_tokens) AS completion
                FROM usage_record WHERE at >= ?""");
        List<Object> args = new ArrayList<>(List.of(java.sql.Timestamp.from(since)));
        filter(sql, args, tenant, keyId);
        sql.append(" GROUP BY period, tenant_id, key_id ORDER BY period, tenant_id");
        return jdbc.query(sql.toString(), (rs, n) -> new Point(rs.getTimestamp("period").toInstant(),
                rs.getString("tenant_id"), rs.getObject("key_id", UUID.class), rs.getLong("requests"),
                rs.getLong("prompt"), rs.getLong("completion"), rs.getLong("prompt") + rs.getLong("completion")),
                args.toArray());
    }

    /** Narrows a query on usage_record to a tenant and a key, each when given. */
    private static void filter(StringBuilder sql, List<Object> args, String tenant, UUID keyId) {
        if (tenant != null) {
            sql.append(" AND tenant_id = ?");
            args.add(tenant);
        }
        if (keyId != null) {
            sql.append(" AND key_id = ?");
            args.add(keyId);
        }
    }
}
