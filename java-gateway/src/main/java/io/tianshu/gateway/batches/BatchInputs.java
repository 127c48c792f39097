package io.tianshu.gateway.batches;

import io.tianshu.gateway.db.SqlArrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.springframework.jdbc.core.JdbcTemplate;
import org.springframework.stereotype.Component;

/**
 * Which uploaded file each batch was made from (table batch_input): the batch service knows
 * lines, not files, and OpenAI's batch object names its input_file_id. Blocking.
 */
@Component
class BatchInputs {

    private final JdbcTemplate jdbc;

    BatchInputs(JdbcTemplate jdbc) {
        this.jdbc = jdbc;
    }

    /**
     * Records the batch's input file, unless it is recorded already (a retried creation with
     * the same Idempotency-Key returns the first batch, which came from the first file).
     *
     * @return the input file on record
     */
    String remember(String batchId, String tenant, String inputFileId) {
        jdbc.update("""
                INSERT INTO batch_input (batch_id, tenant_id, input_file_id) VALUES (?, ?, ?)
                ON CONFLICT (batch_id) DO NOTHING""", batchId, tenant, inputFileId);
        return jdbc.queryForObject("SELECT input_file_id FROM batch_input WHERE batch_id = ?", String.class, batchId);
    }

    /** Input files by batch id; batches created another way (Kafka, gRPC) are absent. */
    Map<String, String> filesOf(List<String> batchIds) {
        Map<String, String> files = new HashMap<>();
        if (batchIds.isEmpty()) {
            return files;
        }
        jdbc.query("SELECT batch_id, input_file_id FROM batch_input WHERE batch_id = ANY(?)",
                ps -> SqlArrays.setText(ps, 1, batchIds),
                rs -> {
                    files.put(rs.getString("batch_id"), rs.getString("input_file_id"));
                });
        return files;
    }
}
