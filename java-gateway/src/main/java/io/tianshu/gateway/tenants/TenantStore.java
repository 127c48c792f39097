package io.tianshu.gateway.tenants;

import io.tianshu.gateway.auth.Caller;
import io.tianshu.gateway.auth.TenantDirectory;
import io.tianshu.gateway.db.SqlArrays;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Types;
import java.util.List;
import java.util.Optional;
import org.springframework.jdbc.core.JdbcTemplate;
import org.springframework.stereotype.Component;

/** The tenant table. Blocking: call through {@link io.tianshu.gateway.db.Blocking}. */
@Component
public class TenantStore implements TenantDirectory {

    private final JdbcTemplate jdbc;

    TenantStore(JdbcTemplate jdbc) {
        this.jdbc = jdbc;
    }

    /**
     * @param ingestTokensPerDay embedding tokens the tenant's uploads may use per day; null = unlimited
     * @return false when the id was taken
     */
    public boolean create(String id, String name, Integer rpm, Integer tpm, List<String> allowedModels,
            Long ingestTokensPerDay) {
        return jdbc.update("""
                INSERT INTO tenant (id, name, rpm, tpm, allowed_models, ingest_tokens_per_day)
                VALUES (?, ?, ?, ?, ?, ?)
                ON CONFLICT (id) DO NOTHING""", ps -> {
            ps.setString(1, id);
            ps.setString(2, name);
            ps.setObject(3, rpm);
            ps.setObject(4, tpm);
            SqlArrays.setText(ps, 5, allowedModels);
            ps.setObject(6, ingestTokensPerDay, Types.BIGINT);
        }) == 1;
    }

    @Override
    public Caller.Limits limitsOf(String tenant) {
        return find(tenant).map(Tenant::limits).orElse(Caller.Limits.NONE);
    }

    @Override
    public void ensureDefaultTenant() {
        create(DEFAULT_TENANT, "Default tenant", null, null, null, null);
    }

    public Optional<Tenant> find(String id) {
        return jdbc.query("SELECT * FROM tenant WHERE id = ?", TenantStore::row, id).stream().findFirst();
    }

    public List<Tenant> list() {
        return jdbc.query("SELECT * FROM tenant ORDER BY id", TenantStore::row);
    }

    /** Sets the given limits; a field left out of the patch keeps its value. */
    public Optional<Tenant> updateLimits(String id, LimitsPatch patch) {
        int updated = jdbc.update("""
                UPDATE tenant SET
                  rpm = CASE WHEN ? THEN ? ELSE rpm END,
                  tpm = CASE WHEN ? THEN ? ELSE tpm END,
                  allowed_models = CASE WHEN ? THEN ? ELSE allowed_models END,
                  ingest_tokens_per_day = CASE WHEN ? THEN ? ELSE ingest_tokens_per_day END,
                  updated_at = now()
                WHERE id = ?""", ps -> {
            ps.setBoolean(1, patch.rpmSet());
            ps.setObject(2, patch.rpm());
            ps.setBoolean(3, patch.tpmSet());
            ps.setObject(4, patch.tpm());
            ps.setBoolean(5, patch.allowedModelsSet());
            SqlArrays.setText(ps, 6, patch.allowedModels());
            ps.setBoolean(7, patch.ingestTokensPerDaySet());
            ps.setObject(8, patch.ingestTokensPerDay(), Types.BIGINT);
            ps.setString(9, id);
        });
        return updated == 0 ? Optional.empty() : find(id);
    }

    /** Which limit fields a PATCH carried (explicit null clears a limit). */
    public record LimitsPatch(boolean rpmSet, Integer rpm, boolean tpmSet, Integer tpm, boolean allowedModelsSet,
            List<String> allowedModels, boolean ingestTokensPerDaySet, Long ingestTokensPerDay) {
    }

    private static Tenant row(ResultSet rs, int n) throws SQLException {
        return new Tenant(rs.getString("id"), rs.getString("name"), SqlArrays.integer(rs, "rpm"),
                SqlArrays.integer(rs, "tpm"), SqlArrays.text(rs, "allowed_models"),
                SqlArrays.bigint(rs, "ingest_tokens_per_day"), rs.getTimestamp("created_at").toInstant());
    }
}
