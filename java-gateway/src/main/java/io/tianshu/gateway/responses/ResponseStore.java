package io.tianshu.gateway.responses;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import java.io.UncheckedIOException;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import org.springframework.jdbc.core.JdbcTemplate;
import org.springframework.stereotype.Component;

/**
 * Stored responses in the gateway's PostgreSQL (table stored_response), each visible to its
 * tenant only: a response of another tenant reads exactly like one that does not exist.
 * Blocking: call through {@link io.tianshu.gateway.db.Blocking}.
 */
@Component
class ResponseStore {

    /** A stored response: the body returned and the input items of its turn. */
    record Stored(JsonNode body, ArrayNode inputItems) {
    }

    // A conversation longer than this many turns is refused rather than read whole per call.
    static final int MAX_TURNS = 1000;

    private final JdbcTemplate jdbc;
    private final ObjectMapper json;

    ResponseStore(JdbcTemplate jdbc, ObjectMapper json) {
        this.jdbc = jdbc;
        this.json = json;
    }

    void insert(String tenant, String id, String previousId, ArrayNode inputItems, JsonNode body) {
        jdbc.update("""
                INSERT INTO stored_response (id, tenant_id, previous_response_id, input_items, body)
                VALUES (?, ?, ?, ?::jsonb, ?::jsonb)""", id, tenant, previousId, text(inputItems), text(body));
    }

    Optional<Stored> find(String tenant, String id) {
        return jdbc.query("SELECT body, input_items FROM stored_response WHERE tenant_id = ? AND id = ?",
                (rs, n) -> new Stored(read(rs.getString(1)), (ArrayNode) read(rs.getString(2))), tenant, id)
                .stream().findFirst();
    }

    boolean delete(String tenant, String id) {
        return jdbc.update("DELETE FROM stored_response WHERE tenant_id = ? AND id = ?", tenant, id) == 1;
    }

    /**
     * The conversation that ends with this response, oldest turn first: each turn's input items
     * then its output items. Empty when the response is unknown to this tenant. A deleted turn
     * ends the chain there, as the conversation no longer holds it.
     */
    Optional<List<JsonNode>> conversation(String tenant, String id) {
        List<JsonNode[]> turns = jdbc.query("""
                WITH RECURSIVE turn (id, previous_response_id, input_items, output, depth) AS (
                    SELECT id, previous_response_id, input_items, body -> 'output', 1
                    FROM stored_response WHERE tenant_id = ? AND id = ?
                    UNION ALL
                    SELECT r.id, r.previous_response_id, r.input_items, r.body -> 'output', t.depth + 1
                    FROM stored_response r JOIN turn t ON r.id = t.previous_response_id
                    WHERE r.tenant_id = ? AND t.depth < ?
                )
                SELECT input_items, output FROM turn ORDER BY depth DESC""",
                (rs, n) -> new JsonNode[] {read(rs.getString(1)), read(rs.getString(2))}, tenant, id, tenant,
                MAX_TURNS);
        if (turns.isEmpty()) {
            return Optional.empty();
        }
        List<JsonNode> items = new ArrayList<>();
        for (JsonNode[] turn : turns) {
            turn[0].forEach(items::add);
            turn[1].forEach(items::add);
        }
        return Optional.of(items);
    }

    private String text(JsonNode node) {
        try {
            return json.writeValueAsString(node);
        } catch (JsonProcessingException e) {
            throw new UncheckedIOException(e);
        }
    }

    private JsonNode read(String text) {
        try {
            return json.readTree(text);
        } catch (JsonProcessingException e) {
            throw new UncheckedIOException(e);
        }
    }
}
