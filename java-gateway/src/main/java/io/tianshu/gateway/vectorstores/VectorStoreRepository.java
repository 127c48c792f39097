package io.tianshu.gateway.vectorstores;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.core.type.TypeReference;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.util.ArrayList;
import java.util.Collection;
import java.util.Collections;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import org.springframework.jdbc.core.JdbcTemplate;
import org.springframework.jdbc.core.RowMapper;
import org.springframework.stereotype.Component;

/**
 * Vector stores, their files and file batches in the gateway's PostgreSQL (V6__vector_stores.sql),
 * each row found by its tenant too, so another tenant's rows are never seen. Blocking: call
 * through {@link io.tianshu.gateway.db.Blocking}.
 */
@Component
class VectorStoreRepository {

    record StoreRow(String id, String tenant, String name, Map<String, String> metadata, long createdAt,
            long lastActiveAt) {
    }

    /**
     * A file in a store.
     *
     * @param jobId the RAG ingest job storing it; null when the RAG service refused it at once
     * @param errorCode last_error's code, null unless failed
     */
    record FileRow(String storeId, String fileId, String filename, long bytes, String batchId, String jobId,
            String status, long usageBytes, String errorCode, String errorMessage, JsonNode attributes,
            JsonNode chunkingStrategy, long createdAt) {
    }

    record BatchRow(String id, String storeId, long createdAt) {
    }

    /** Files per status, and the bytes of the completed ones. */
    record Counts(long inProgress, long completed, long failed, long cancelled, long usageBytes) {
        static final Counts NONE = new Counts(0, 0, 0, 0, 0);
    }

    /**
     * A page of a list in created order, by OpenAI's cursors: after the object named by after,
     * or before the one named by before (in the order asked for).
     */
    record Page(int limit, boolean ascending, String after, String before) {
    }

    record Listed<T>(List<T> rows, boolean hasMore) {
    }

    private static final String STORE_COLUMNS = "id, tenant_id, name, metadata, created_at, last_active_at";
    private static final String FILE_COLUMNS = "vector_store_id, file_id, filename, bytes, batch_id, job_id, status, "
            + "usage_bytes, last_error_code, last_error_message, attributes, chunking_strategy, created_at";

    private final JdbcTemplate jdbc;
    private final ObjectMapper json;

    VectorStoreRepository(JdbcTemplate jdbc, ObjectMapper json) {
        this.jdbc = jdbc;
        this.json = json;
    }

    StoreRow insertStore(String id, String tenant, String name, String description, Map<String, String> metadata) {
        jdbc.update("INSERT INTO vector_store (id, tenant_id, name, description, metadata) VALUES (?, ?, ?, ?, "
                + "?::jsonb)", id, tenant, name, description, write(metadata));
        return findStore(tenant, id).orElseThrow();
    }

    Optional<StoreRow> findStore(String tenant, String id) {
        return jdbc.query("SELECT " + STORE_COLUMNS + " FROM vector_store WHERE tenant_id = ? AND id = ?",
                this::store, tenant, id).stream().findFirst();
    }

    /** The tenant's store; 404 when it has none of that id (another tenant's included). */
    StoreRow owned(String tenant, String id) {
        return findStore(tenant, id).orElseThrow(() -> VectorStoreErrors.storeNotFound(id));
    }

    Listed<StoreRow> listStores(String tenant, Page page) {
        return page(STORE_COLUMNS, "vector_store", "id", "tenant_id = ?", List.of(tenant), page, this::store);
    }

    /** Sets what is not null; false when the tenant has no such store. */
    boolean updateStore(String tenant, String id, String name, Map<String, String> metadata) {
        return jdbc.update("UPDATE vector_store SET name = coalesce(?, name), metadata = coalesce(?::jsonb, metadata) "
                + "WHERE tenant_id = ? AND id = ?", name, metadata == null ? null : write(metadata), tenant, id) == 1;
    }

    boolean deleteStore(String tenant, String id) {
        return jdbc.update("DELETE FROM vector_store WHERE tenant_id = ? AND id = ?", tenant, id) == 1;
    }

    /** The store was used (searched, given files) now. */
    void touch(String id) {
        jdbc.update("UPDATE vector_store SET last_active_at = now() WHERE id = ?", id);
    }

    BatchRow insertBatch(String id, String storeId, String tenant) {
        jdbc.update("INSERT INTO vector_store_file_batch (id, vector_store_id, tenant_id) VALUES (?, ?, ?)", id,
                storeId, tenant);
        return findBatch(tenant, storeId, id).orElseThrow();
    }

    boolean deleteBatch(String id) {
        return jdbc.update("DELETE FROM vector_store_file_batch WHERE id = ?", id) == 1;
    }

    Optional<BatchRow> findBatch(String tenant, String storeId, String id) {
        return jdbc.query("SELECT id, vector_store_id, created_at FROM vector_store_file_batch "
                + "WHERE tenant_id = ? AND vector_store_id = ? AND id = ?", (rs, n) -> new BatchRow(rs.getString(1),
                rs.getString(2), seconds(rs, 3)), tenant, storeId, id).stream().findFirst();
    }

    /**
     * Records a file in a store, or replaces a failed record of it (a retry); false when the
     * store already holds the file otherwise (in progress or completed).
     */
    boolean putFile(String tenant, FileRow file) {
        return jdbc.update("""
                INSERT INTO vector_store_file (vector_store_id, file_id, tenant_id, filename, bytes, batch_id, job_id,
                    status, last_error_code, last_error_message, attributes, chunking_strategy)
                VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?::jsonb, ?::jsonb)
                ON CONFLICT (vector_store_id, file_id) DO UPDATE SET filename = excluded.filename,
                    bytes = excluded.bytes, batch_id = excluded.batch_id, job_id = excluded.job_id,
                    status = excluded.status, usage_bytes = 0, last_error_code = excluded.last_error_code,
                    last_error_message = excluded.last_error_message, attributes = excluded.attributes,
                    chunking_strategy = excluded.chunking_strategy, created_at = now()
                WHERE vector_store_file.status = 'failed'""", file.storeId(), file.fileId(), tenant, file.filename(),
                file.bytes(), file.batchId(), file.jobId(), file.status(), file.errorCode(), file.errorMessage(),
                write(file.attributes()), write(file.chunkingStrategy())) == 1;
    }

    Optional<FileRow> findFile(String tenant, String storeId, String fileId) {
        return jdbc.query("SELECT " + FILE_COLUMNS + " FROM vector_store_file WHERE tenant_id = ? "
                + "AND vector_store_id = ? AND file_id = ?", this::file, tenant, storeId, fileId).stream().findFirst();
    }

    /**
     * @param batchId only the files of this batch; null for all
     * @param status only files of this status; null for all
     */
    Listed<FileRow> listFiles(String tenant, String storeId, String batchId, String status, Page page) {
        StringBuilder scope = new StringBuilder("tenant_id = ? AND vector_store_id = ?");
        List<Object> args = new ArrayList<>(List.of(tenant, storeId));
        if (batchId != null) {
            scope.append(" AND batch_id = ?");
            args.add(batchId);
        }
        if (status != null) {
            scope.append(" AND status = ?");
            args.add(status);
        }
        return page(FILE_COLUMNS, "vector_store_file", "file_id", scope.toString(), args, page, this::file);
    }

    /** The files of a store among these ids that are recorded and not failed (a failed one may be added again). */
    List<String> heldFiles(String storeId, Collection<String> fileIds) {
        return jdbc.queryForList("SELECT file_id FROM vector_store_file WHERE vector_store_id = ? "
                + "AND file_id = ANY(?) AND status <> 'failed'", String.class, storeId, fileIds.toArray(String[]::new));
    }

    /** The store's records of these files, by file id: what search results are named by. */
    Map<String, FileRow> filesById(String storeId, Collection<String> fileIds) {
        Map<String, FileRow> found = new HashMap<>();
        jdbc.query("SELECT " + FILE_COLUMNS + " FROM vector_store_file WHERE vector_store_id = ? AND file_id = ANY(?)",
                this::file, storeId, fileIds.toArray(String[]::new)).forEach(f -> found.put(f.fileId(), f));
        return found;
    }

    /** Every store of the tenant that holds the file. */
    List<String> storesHolding(String tenant, String fileId) {
        return jdbc.queryForList("SELECT vector_store_id FROM vector_store_file WHERE tenant_id = ? AND file_id = ?",
                String.class, tenant, fileId);
    }

    boolean deleteFile(String tenant, String storeId, String fileId) {
        return jdbc.update("DELETE FROM vector_store_file WHERE tenant_id = ? AND vector_store_id = ? AND file_id = ?",
                tenant, storeId, fileId) == 1;
    }

    /** The RAG jobs that files of these stores still wait for. */
    List<String> pendingJobs(Collection<String> storeIds) {
        if (storeIds.isEmpty()) {
            return List.of();
        }
        return jdbc.queryForList("SELECT DISTINCT job_id FROM vector_store_file WHERE vector_store_id = ANY(?) "
                + "AND status = 'in_progress' AND job_id IS NOT NULL", String.class,
                (Object) storeIds.toArray(String[]::new));
    }

    /**
     * The files a job stored end with it: completed (their usage the file's size) or failed
     * with the error given.
     */
    void finishJob(String jobId, String status, String errorCode, String errorMessage) {
        jdbc.update("UPDATE vector_store_file SET status = ?, last_error_code = ?, last_error_message = ?, "
                + "usage_bytes = CASE WHEN ? = 'completed' THEN bytes ELSE 0 END "
                + "WHERE job_id = ? AND status = 'in_progress'", status, errorCode, errorMessage, status, jobId);
    }

    /** Counts of each store's files. */
    Map<String, Counts> counts(Collection<String> storeIds) {
        if (storeIds.isEmpty()) {
            return Map.of();
        }
        return countsBy("vector_store_id", "vector_store_id = ANY(?)", storeIds.toArray(String[]::new));
    }

    Counts batchCounts(String batchId) {
        return countsBy("batch_id", "batch_id = ?", batchId).getOrDefault(batchId, Counts.NONE);
    }

    private Map<String, Counts> countsBy(String key, String where, Object arg) {
        Map<String, Counts> counts = new HashMap<>();
        jdbc.query("SELECT " + key + ", count(*) FILTER (WHERE status = 'in_progress'), "
                + "count(*) FILTER (WHERE status = 'completed'), count(*) FILTER (WHERE status = 'failed'), "
                + "count(*) FILTER (WHERE status = 'cancelled'), coalesce(sum(usage_bytes), 0) "
                + "FROM vector_store_file WHERE " + where + " GROUP BY " + key, rs -> {
                    counts.put(rs.getString(1), new Counts(rs.getLong(2), rs.getLong(3), rs.getLong(4), rs.getLong(5),
                            rs.getLong(6)));
                }, arg);
        return counts;
    }

    /**
     * One page by (created_at, id) keyset. Going backwards (before without after) the rows are
     * read in the opposite order, nearest the cursor first, and turned back.
     */
    private <T> Listed<T> page(String columns, String table, String idColumn, String scope, List<Object> scopeArgs,
            Page page, RowMapper<T> mapper) {
        boolean backwards = page.before() != null && page.after() == null;
        StringBuilder sql = new StringBuilder("SELECT " + columns + " FROM " + table + " WHERE " + scope);
        List<Object> args = new ArrayList<>(scopeArgs);
        cursor(sql, args, table, idColumn, scope, scopeArgs, page.after(), page.ascending() ? ">" : "<");
        cursor(sql, args, table, idColumn, scope, scopeArgs, page.before(), page.ascending() ? "<" : ">");
        String order = page.ascending() != backwards ? "ASC" : "DESC";
        sql.append(" ORDER BY created_at ").append(order).append(", ").append(idColumn).append(' ').append(order)
                .append(" LIMIT ?");
        args.add(page.limit() + 1);
        List<T> rows = new ArrayList<>(jdbc.query(sql.toString(), mapper, args.toArray()));
        boolean more = rows.size() > page.limit();
        if (more) {
            rows.remove(rows.size() - 1);
        }
        if (backwards) {
            Collections.reverse(rows);
        }
        return new Listed<>(rows, more);
    }

    /** Rows past the cursor's row (none when the cursor names no row of the scope). */
    private static void cursor(StringBuilder sql, List<Object> args, String table, String idColumn, String scope,
            List<Object> scopeArgs, String cursor, String compare) {
        if (cursor == null) {
            return;
        }
        sql.append(" AND (created_at, ").append(idColumn).append(") ").append(compare).append(" (SELECT created_at, ")
                .append(idColumn).append(" FROM ").append(table).append(" WHERE ").append(scope).append(" AND ")
                .append(idColumn).append(" = ?)");
        args.addAll(scopeArgs);
        args.add(cursor);
    }

    private StoreRow store(ResultSet rs, int n) throws SQLException {
        return new StoreRow(rs.getString("id"), rs.getString("tenant_id"), rs.getString("name"),
                read(rs.getString("metadata"), new TypeReference<Map<String, String>>() { }),
                seconds(rs, "created_at"), seconds(rs, "last_active_at"));
    }

    private FileRow file(ResultSet rs, int n) throws SQLException {
        return new FileRow(rs.getString("vector_store_id"), rs.getString("file_id"), rs.getString("filename"),
                rs.getLong("bytes"), rs.getString("batch_id"), rs.getString("job_id"), rs.getString("status"),
                rs.getLong("usage_bytes"), rs.getString("last_error_code"), rs.getString("last_error_message"),
                read(rs.getString("attributes"), new TypeReference<JsonNode>() { }),
                read(rs.getString("chunking_strategy"), new TypeReference<JsonNode>() { }),
                seconds(rs, "created_at"));
    }

    private static long seconds(ResultSet rs, String column) throws SQLException {
        return rs.getTimestamp(column).toInstant().getEpochSecond();
    }

    private static long seconds(ResultSet rs, int column) throws SQLException {
        return rs.getTimestamp(column).toInstant().getEpochSecond();
    }

    private String write(Object value) {
        try {
            return json.writeValueAsString(value);
        } catch (JsonProcessingException e) {
            throw new IllegalStateException("cannot write " + value.getClass().getSimpleName() + " as JSON", e);
        }
    }

    private <T> T read(String text, TypeReference<T> type) {
        try {
            return json.readValue(text, type);
        } catch (JsonProcessingException e) {
            throw new IllegalStateException("a jsonb column holds what it should not: " + e.getOriginalMessage(), e);
        }
    }
}
