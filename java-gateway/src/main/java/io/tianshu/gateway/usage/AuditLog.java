package io.tianshu.gateway.usage;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.PropertyNamingStrategies;
import com.fasterxml.jackson.databind.annotation.JsonNaming;
import java.time.Instant;
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

    /** Newest first. */
    public List<Event> recent(int limit) {
        return jdbc.query("SELECT * FROM audit_event ORDER BY id DESC LIMIT ?", (rs, n) -> new Event(
                rs.getLong("id"), rs.getTimestamp("at").toInstant(), rs.getString("actor"),
                rs.getString("actor_tenant"), rs.getString("action"), rs.getString("target"),
                parse(rs.getString("detail")), rs.getString("request_id")), limit);
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
