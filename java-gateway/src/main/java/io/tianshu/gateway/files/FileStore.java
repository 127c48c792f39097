package io.tianshu.gateway.files;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.util.ArrayList;
import java.util.List;
import io.tianshu.gateway.db.RandomIds;
import java.util.Optional;
import org.springframework.jdbc.core.JdbcTemplate;
import org.springframework.stereotype.Component;

/**
 * Uploaded files in the gateway's PostgreSQL (table batch_file, batch input and vector store
 * documents alike), each visible to its tenant only. Content is written from a stream and read
 * back a slice at a time. Blocking: call through {@link io.tianshu.gateway.db.Blocking}.
 */
@Component
public class FileStore {

    /**
     * A file without its content.
     *
     * @param contentType a document's format (purpose assistants); null for batch input
     */
    public record StoredFile(String id, String tenant, String purpose, String filename, long bytes, int lines,
            long createdAt, String contentType) {
    }

    public static final String BATCH = "batch";
    /** OpenAI's purpose for files that vector stores read. */
    public static final String ASSISTANTS = "assistants";

    // 1 MiB: few round trips for a large file, little memory per download in flight.
    static final int SLICE_BYTES = 1024 * 1024;

    private final JdbcTemplate jdbc;

    FileStore(JdbcTemplate jdbc) {
        this.jdbc = jdbc;
    }

    /** "file-" and 24 random base-62 characters (143 bits), as unguessable as OpenAI's ids. */
    static String newId() {
        return RandomIds.of("file-");
    }

    /** @param contentType a document's format; null for batch input */
    StoredFile insert(String tenant, String purpose, String filename, Path content, int lines, String contentType) {
        String id = newId();
        try (InputStream in = Files.newInputStream(content)) {
            long bytes = Files.size(content);
            jdbc.update("""
                    INSERT INTO batch_file (id, tenant_id, purpose, filename, bytes, line_count, content, content_type)
                    VALUES (?, ?, ?, ?, ?, ?, ?, ?)""", ps -> {
                ps.setString(1, id);
                ps.setString(2, tenant);
                ps.setString(3, purpose);
                ps.setString(4, filename);
                ps.setLong(5, bytes);
                ps.setInt(6, lines);
                ps.setBinaryStream(7, in, bytes);
                ps.setString(8, contentType);
            });
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        return find(tenant, id).orElseThrow();
    }

    public Optional<StoredFile> find(String tenant, String id) {
        return jdbc.query("SELECT " + COLUMNS + " FROM batch_file WHERE tenant_id = ? AND id = ?", FileStore::row,
                tenant, id).stream().findFirst();
    }

    /**
     * Newest first, or oldest first; after continues past that file (keyset pagination).
     *
     * @param purposes only files of one of these purposes
     */
    List<StoredFile> list(String tenant, List<String> purposes, String after, boolean ascending, int limit) {
        String compare = ascending ? ">" : "<";
        String order = ascending ? "ASC" : "DESC";
        StringBuilder sql = new StringBuilder("SELECT " + COLUMNS + " FROM batch_file WHERE tenant_id = ?");
        List<Object> args = new ArrayList<>(List.of(tenant));
        sql.append(" AND purpose IN (").append(String.join(", ", purposes.stream().map(p -> "?").toList()))
                .append(")");
        args.addAll(purposes);
        if (after != null) {
            sql.append(" AND (created_at, id) ").append(compare)
                    .append(" (SELECT created_at, id FROM batch_file WHERE tenant_id = ? AND id = ?)");
            args.add(tenant);
            args.add(after);
        }
        sql.append(" ORDER BY created_at ").append(order).append(", id ").append(order).append(" LIMIT ?");
        args.add(limit);
        return jdbc.query(sql.toString(), FileStore::row, args.toArray());
    }

    boolean delete(String tenant, String id) {
        return jdbc.update("DELETE FROM batch_file WHERE tenant_id = ? AND id = ?", tenant, id) == 1;
    }

    /** Bytes [offset, offset + length) of a file's content; fewer at its end. */
    byte[] slice(String id, long offset, int length) {
        // substring() of bytea counts from 1.
        return jdbc.queryForObject("SELECT substring(content FROM ? FOR ?) FROM batch_file WHERE id = ?",
                byte[].class, Math.toIntExact(offset + 1), length, id);
    }

    /** The whole content as a stream that reads one slice at a time; the file must exist. */
    public InputStream open(StoredFile file) {
        return new SlicedContent(this, file.id(), file.bytes());
    }

    private static final String COLUMNS = "id, tenant_id, purpose, filename, bytes, line_count, created_at, "
            + "content_type";

    private static StoredFile row(ResultSet rs, int n) throws SQLException {
        return new StoredFile(rs.getString("id"), rs.getString("tenant_id"), rs.getString("purpose"),
                rs.getString("filename"), rs.getLong("bytes"), rs.getInt("line_count"),
                rs.getTimestamp("created_at").toInstant().getEpochSecond(), rs.getString("content_type"));
    }
}
