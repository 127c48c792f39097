package io.tianshu.gateway.usage;

import com.fasterxml.jackson.databind.PropertyNamingStrategies;
import com.fasterxml.jackson.databind.annotation.JsonNaming;
import java.util.ArrayList;
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
        if (tenant != null) {
            sql.append(" AND tenant_id = ?");
            args.add(tenant);
        }
        if (keyId != null) {
            sql.append(" AND key_id = ?");
            args.add(keyId);
        }
        sql.append(" GROUP BY tenant_id, key_id, endpoint, model ORDER BY tenant_id, endpoint, model");
        return jdbc.query(sql.toString(), (rs, n) -> new Summary(rs.getString("tenant_id"),
                rs.getObject("key_id", UUID.class), rs.getString("endpoint"), rs.getString("model"), rs.getLong("requests"),
                rs.getLong("prompt"), rs.getLong("completion"), rs.getLong("prompt") + rs.getLong("completion")),
                args.toArray());
    }
}
