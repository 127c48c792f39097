package io.tianshu.gateway.db;

import static org.assertj.core.api.Assertions.assertThat;

import io.tianshu.gateway.GatewayApplication;
import io.tianshu.gateway.support.InProcessInference;
import io.zonky.test.db.postgres.embedded.EmbeddedPostgres;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.springframework.boot.builder.SpringApplicationBuilder;
import org.springframework.boot.web.context.WebServerApplicationContext;
import org.springframework.context.ConfigurableApplicationContext;
import org.springframework.http.MediaType;
import org.springframework.test.web.reactive.server.WebTestClient;

/**
 * A gateway whose PostgreSQL goes away after start-up: its own database (the shared one must
 * stay up for every other test), stopped mid-test. Callers get 503 with Retry-After in
 * OpenAI's shape, never a 500 or a stack trace.
 */
class DatabaseDownTest {

    @Test
    void callsWhileTheDatabaseIsDownGet503WithRetryAfter() throws Exception {
        Path keyFile = Files.createTempDirectory("tianshu-db-down").resolve("admin-key");
        EmbeddedPostgres database = EmbeddedPostgres.builder().start();
        try (ConfigurableApplicationContext gateway = new SpringApplicationBuilder(GatewayApplication.class,
                InProcessInference.class).run("--server.port=0",
                        "--spring.datasource.url=" + database.getJdbcUrl("postgres", "postgres"),
                        "--tianshu.auth.admin-key-file=" + keyFile,
                        "--spring.datasource.hikari.connection-timeout=1000",
                        // Every call must reach the database here; a cached key of a caller
                        // without limits would be served from memory during the outage.
                        "--tianshu.auth.key-cache-ttl=0s")) {
            int port = ((WebServerApplicationContext) gateway).getWebServer().getPort();
            WebTestClient web = WebTestClient.bindToServer().baseUrl("http://localhost:" + port)
                    .defaultHeader("Authorization", "Bearer " + Files.readString(keyFile).trim()).build();
            web.get().uri("/v1/admin/tenants").exchange().expectStatus().isOk();

            database.close();

            for (var call : new WebTestClient.RequestHeadersSpec<?>[] {
                web.post().uri("/v1/chat/completions").contentType(MediaType.APPLICATION_JSON)
                        .bodyValue("{\"model\": \"tiny-chat\", \"messages\": [{\"role\": \"user\", \"content\": \"Hi\"}]}"),
                web.get().uri("/v1/admin/keys"),
            }) {
                String body = call.exchange()
                        .expectStatus().isEqualTo(503)
                        .expectHeader().valueEquals("Retry-After", "5")
                        .expectHeader().contentTypeCompatibleWith(MediaType.APPLICATION_JSON)
                        .expectBody(String.class).returnResult().getResponseBody();
                assertThat(body).contains("\"type\":\"service_unavailable_error\"")
                        .contains("\"code\":\"database_unavailable\"")
                        .doesNotContain("Exception").doesNotContain("\tat ").doesNotContain("jdbc:");
            }
        } finally {
            database.close();
        }
    }
}
