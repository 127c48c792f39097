package io.tianshu.gateway.auth;

import io.tianshu.gateway.config.TianshuProperties;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.List;
import java.util.Optional;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.springframework.boot.ApplicationArguments;
import org.springframework.boot.ApplicationRunner;
import org.springframework.jdbc.core.JdbcTemplate;
import org.springframework.stereotype.Component;
import org.springframework.transaction.support.TransactionTemplate;

/**
 * First start: creates the tenant "default" and, when no live admin key exists, an admin key
 * with every scope, written once to {@code tianshu.auth.admin-key-file} (mode 0600). Only the
 * file's path is logged. A file whose key still works is never overwritten.
 */
@Component
class AdminKeyBootstrap implements ApplicationRunner {

    private static final Logger log = LoggerFactory.getLogger(AdminKeyBootstrap.class);
    // Any fixed number: serializes bootstraps of gateways sharing one database.
    private static final long LOCK = 0x7473_6b5f_6164_6dL;

    private final KeyStore keys;
    private final TenantDirectory tenants;
    private final JdbcTemplate jdbc;
    private final TransactionTemplate transaction;
    private final TianshuProperties properties;

    AdminKeyBootstrap(KeyStore keys, TenantDirectory tenants, JdbcTemplate jdbc, TransactionTemplate transaction,
            TianshuProperties properties) {
        this.keys = keys;
        this.tenants = tenants;
        this.jdbc = jdbc;
        this.transaction = transaction;
        this.properties = properties;
    }

    @Override
    public void run(ApplicationArguments args) {
        tenants.ensureDefaultTenant();
        if (!properties.auth().enabled()) {
            return;
        }
        Path file = properties.auth().adminKeyFile();
        transaction.executeWithoutResult(status -> {
            jdbc.queryForObject("SELECT pg_advisory_xact_lock(?)", Object.class, LOCK);
            if (keys.liveAdminKeyExists()) {
                if (fileHoldsDeadKey(file)) {
                    log.warn("the admin key in {} no longer works; another admin key exists", file);
                }
                return;
            }
            KeyStore.Created created = keys.create(new KeyStore.NewKey(TenantDirectory.DEFAULT_TENANT, "bootstrap admin",
                    List.copyOf(Scope.all()), null, null, null, null, "bootstrap"));
            write(file, created.plaintext());
            log.info("created the bootstrap admin key {} and wrote it to {}", created.info().prefix(), file);
        });
    }

    private boolean fileHoldsDeadKey(Path file) {
        return read(file).map(key -> keys.authenticate(key).isEmpty()).orElse(false);
    }

    private static Optional<String> read(Path file) {
        try {
            return Files.exists(file) ? Optional.of(Files.readString(file).trim()) : Optional.empty();
        } catch (IOException e) {
            return Optional.empty();
        }
    }

    /** Written to a 0600 temporary file first and moved into place, so no one can read a partial key. */
    private static void write(Path file, String key) {
        try {
            Path dir = file.toAbsolutePath().getParent();
            Files.createDirectories(dir);
            Path tmp = Files.createTempFile(dir, ".admin-key", ".tmp",
                    PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rw-------")));
            Files.writeString(tmp, key + "\n", StandardCharsets.US_ASCII);
            Files.move(tmp, file, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot write the admin key file " + file, e);
        }
    }
}
