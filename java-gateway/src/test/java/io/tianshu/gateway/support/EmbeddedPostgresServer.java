package io.tianshu.gateway.support;

import io.zonky.test.db.postgres.embedded.EmbeddedPostgres;
import java.io.IOException;
import java.io.UncheckedIOException;

/**
 * One real PostgreSQL per test JVM (zonky's launcher, PostgreSQL binaries from Maven Central),
 * started on first use and stopped by zonky's shutdown hook. No mocks, no H2: the rate
 * limiter's SQL functions and row locks are part of what the tests prove. Zonky 2.2 runs the
 * server in a user namespace (unshare -U) when the build runs as root, as it does here.
 */
public final class EmbeddedPostgresServer {

    private static EmbeddedPostgres server;

    private EmbeddedPostgresServer() {
    }

    public static synchronized String jdbcUrl() {
        if (server == null) {
            try {
                server = EmbeddedPostgres.builder().start();
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
        }
        return server.getJdbcUrl("postgres", "postgres");
    }
}
