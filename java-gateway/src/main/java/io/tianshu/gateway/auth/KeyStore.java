package io.tianshu.gateway.auth;

import com.fasterxml.jackson.databind.PropertyNamingStrategies;
import com.fasterxml.jackson.databind.annotation.JsonNaming;
import io.tianshu.gateway.db.SqlArrays;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Timestamp;
import java.time.Instant;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Optional;
import java.util.UUID;
import org.springframework.jdbc.core.JdbcTemplate;
import org.springframework.stereotype.Component;

/** The api_key table. Blocking: call through {@link io.tianshu.gateway.db.Blocking}. */
@Component
public class KeyStore {

    private final JdbcTemplate jdbc;

    KeyStore(JdbcTemplate jdbc) {
        this.jdbc = jdbc;
    }

    /** What to create; limits and models may be null (unlimited, every model). */
    public record NewKey(String tenant, String name, List<String> scopes, List<String> allowedModels, Integer rpm,
            Integer tpm, Instant expiresAt, String createdBy) {
    }

    /** A key as listed: everything but its secret. */
    @JsonNaming(PropertyNamingStrategies.SnakeCaseStrategy.class)
    public record KeyInfo(UUID id, String prefix, String tenant, String name, List<String> scopes,
            List<String> allowedModels, Integer rpm, Integer tpm, Instant expiresAt, Instant revokedAt,
            Instant createdAt, String createdBy) {
    }

    public record Created(KeyInfo info, String plaintext) {
    }

    /** Who a presented key stands for, and until when (null: no expiry). */
    public record Authenticated(Caller caller, Instant expiresAt) {
    }

    public Created create(NewKey key) {
        String plaintext = ApiKeys.generate();
        UUID id = UUID.randomUUID();
        jdbc.update("""
                INSERT INTO api_key (id, prefix, hash, tenant_id, name, scopes, allowed_models, rpm, tpm, expires_at,
                                     created_by)
                VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)""", ps -> {
            ps.setObject(1, id);
            ps.setString(2, ApiKeys.prefix(plaintext));
            ps.setBytes(3, ApiKeys.hash(plaintext));
            ps.setString(4, key.tenant());
            ps.setString(5, key.name());
            SqlArrays.setText(ps, 6, key.scopes());
            SqlArrays.setText(ps, 7, key.allowedModels());
            ps.setObject(8, key.rpm());
            ps.setObject(9, key.tpm());
            ps.setTimestamp(10, key.expiresAt() == null ? null : Timestamp.from(key.expiresAt()));
            ps.setString(11, key.createdBy());
        });
        return new Created(find(id).orElseThrow(), plaintext);
    }

    /**
     * The caller a presented key stands for, or empty when no live key matches. Every row with
     * the key's prefix is compared in constant time; a revoked or expired key is as good as none.
     */
    public Optional<Authenticated> authenticate(String presented) {
        if (!ApiKeys.wellFormed(presented)) {
            return Optional.empty();
        }
        List<Candidate> candidates = jdbc.query("""
                SELECT k.*, t.rpm AS t_rpm, t.tpm AS t_tpm, t.allowed_models AS t_allowed_models,
                       t.ingest_tokens_per_day AS t_ingest_tokens_per_day
                FROM api_key k JOIN tenant t ON t.id = k.tenant_id
                WHERE k.prefix = ? AND k.revoked_at IS NULL AND (k.expires_at IS NULL OR k.expires_at > now())""",
                (rs, n) -> new Candidate(rs.getBytes("hash"), new Authenticated(caller(rs), instant(rs, "expires_at"))),
                ApiKeys.prefix(presented));
        Authenticated match = null;
        for (Candidate c : candidates) {
            if (ApiKeys.matches(c.hash(), presented)) {
                match = c.authenticated();
            }
        }
        return Optional.ofNullable(match);
    }

    public Optional<KeyInfo> find(UUID id) {
        return jdbc.query("SELECT * FROM api_key WHERE id = ?", KeyStore::info, id).stream().findFirst();
    }

    /** @param tenant only this tenant's keys, or all when null */
    public List<KeyInfo> list(String tenant) {
        return tenant == null
                ? jdbc.query("SELECT * FROM api_key ORDER BY created_at", KeyStore::info)
                : jdbc.query("SELECT * FROM api_key WHERE tenant_id = ? ORDER BY created_at", KeyStore::info, tenant);
    }

    /** @return false when there is no such key or it was already revoked */
    public boolean revoke(UUID id) {
        return jdbc.update("UPDATE api_key SET revoked_at = now() WHERE id = ? AND revoked_at IS NULL", id) == 1;
    }

    /** Whether a live key with the admin scope exists. */
    boolean liveAdminKeyExists() {
        return Boolean.TRUE.equals(jdbc.queryForObject("""
                SELECT EXISTS (SELECT 1 FROM api_key WHERE 'admin' = ANY (scopes) AND revoked_at IS NULL
                               AND (expires_at IS NULL OR expires_at > now()))""", Boolean.class));
    }

    private record Candidate(byte[] hash, Authenticated authenticated) {
    }

    private static Caller caller(ResultSet rs) throws SQLException {
        UUID id = rs.getObject("id", UUID.class);
        return new Caller(rs.getString("tenant_id"), id, "key:" + id,
                new LinkedHashSet<>(SqlArrays.text(rs, "scopes")),
                new Caller.Limits(SqlArrays.integer(rs, "rpm"), SqlArrays.integer(rs, "tpm"),
                        SqlArrays.text(rs, "allowed_models")),
                new Caller.Limits(SqlArrays.integer(rs, "t_rpm"), SqlArrays.integer(rs, "t_tpm"),
                        SqlArrays.text(rs, "t_allowed_models"), SqlArrays.bigint(rs, "t_ingest_tokens_per_day")));
    }

    private static KeyInfo info(ResultSet rs, int n) throws SQLException {
        return new KeyInfo(rs.getObject("id", UUID.class), rs.getString("prefix"), rs.getString("tenant_id"),
                rs.getString("name"), SqlArrays.text(rs, "scopes"), SqlArrays.text(rs, "allowed_models"),
                SqlArrays.integer(rs, "rpm"), SqlArrays.integer(rs, "tpm"), instant(rs, "expires_at"),
                instant(rs, "revoked_at"), instant(rs, "created_at"), rs.getString("created_by"));
    }

    private static Instant instant(ResultSet rs, String column) throws SQLException {
        Timestamp t = rs.getTimestamp(column);
        return t == null ? null : t.toInstant();
    }
}
