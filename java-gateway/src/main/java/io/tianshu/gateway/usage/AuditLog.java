package io.tianshu.gateway.usage;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.PropertyNamingStrategies;
import com.fasterxml.jackson.databind.annotation.JsonNaming;
import java.sql.Timestamp;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import org.springframework.jdbc.core.JdbcTemplate;
import org.springframework.stereotype.Component;

/** Every admin action: who, what, when, on what. Never holds a secret. Blocking. */
@Component
public class AuditLog {

    @JsonNaming(PropertyNamingStrategies.SnakeCaseStrategy.class)
    public record Event(long id, Instant at, String actor, String actorTenant, String action, String target,
            JsonNode detail, String requestId) {
    }

    private final JdbcTemplate jdbc;
    private final ObjectMapper json;

    AuditLog(JdbcTemplate jdbc, ObjectMapper json) {
        this.jdbc = jdbc;
        this.json = json;
    }

    public void record(String actor, String actorTenant, String action, String target, Object detail,
            String requestId) {
        jdbc.update("""
                INSERT INTO audit_event (actor, actor_tenant, action, target, detail, request_id)
                VALUES (?, ?, ?, ?, ?::jsonb, ?)""", actor, actorTenant, action, target, toJson(detail), requestId);
    }

    /**
     * What to list: every field null means no condition on it.
     *
     * @param text a piece of the actor, the actor's tenant, the target or the request id, any case
     * @param beforeId events older than this one (the last id of the previous page)
     */
    public record Filter(String action, String text, Instant since, Instant until, Long beforeId) {
        public static final Filter NONE = new Filter(null, null, null, null, null);
    }

    /** Newest first. */
    public List<Event> recent(int limit) {
        return find(Filter.NONE, limit);
    }

    /** The events the filter keeps, newest first, at most limit of them. */
    public List<Event> find(Filter filter, int limit) {
        StringBuilder sql = new StringBuilder("SELECT * FROM audit_event WHERE true");
        List<Object> args = new ArrayList<>();
        if (filter.action() != null) {
            sql.append(" AND action = ?");
            args.add(filter.action());
        }
        if (filter.text() != null) {
            sql.append(" AND (actor ILIKE ? OR actor_tenant ILIKE ? OR target ILIKE ? OR request_id ILIKE ?)");
            String pattern = "%" + filter.text().replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%";
            args.addAll(List.of(pattern, pattern, pattern, pattern));
        }
        if (filter.since() != null) {
            sql.append(" AND at >= ?");
            args.add(Timestamp.from(filter.since()));
        }
        if (filter.until() != null) {
            sql.append(" AND at < ?");
            args.add(Timestamp.from(filter.until()));
        }
        if (filter.beforeId() != null) {
            sql.append(" AND id < ?");
            args.add(filter.beforeId());
        }
        sql.append(" ORDER BY id DESC LIMIT ?");
        args.add(limit);
        return jdbc.query(sql.toString(), (rs, n) -> new Event(
                rs.getLong("id"), rs.getTimestamp("at").toInstant(), rs.getString("actor"),
                rs.getString("actor_tenant"), rs.getString("action"), rs.getString("target"),
                parse(rs.getString("detail")), rs.getString("request_id")), args.toArray());
    }

    private String toJson(Object detail) {
        try {
            return detail == null ? null : json.writeValueAsString(detail);
        } catch (JsonProcessingException e) {
            throw new IllegalStateException(e);
        }
    }

    private JsonNode parse(String text) {
        try {
            return text == null ? null : json.readTree(text);
        } catch (JsonProcessingException e) {
            throw new IllegalStateException(e);
        }
    }
}
