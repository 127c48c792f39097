package io.tianshu.gateway.admin;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.tianshu.gateway.auth.KeyStore;
import io.tianshu.gateway.support.GatewayTest;
import io.tianshu.gateway.support.TestKeys;
import io.tianshu.gateway.tenants.TenantStore;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.List;
import java.util.UUID;
import org.junit.jupiter.api.Test;
import org.springframework.beans.factory.annotation.Autowired;
import org.springframework.http.HttpMethod;
import org.springframework.http.MediaType;
import org.springframework.jdbc.core.JdbcTemplate;
import org.springframework.test.web.reactive.server.WebTestClient;

/** The admin API end to end: the bootstrap admin key manages tenants and keys, and every change is audited. */
class AdminApiTest extends GatewayTest {

    @Autowired
    KeyStore keys;
    @Autowired
    TenantStore tenants;
    @Autowired
    ObjectMapper json;
    @Autowired
    JdbcTemplate jdbc;

    // Request ids are the audit rows' handle on the call that wrote them; unique per test run.
    private final String run = UUID.randomUUID().toString().substring(0, 8);

    @Test
    void tenantAndKeyLifecycleIsAuditedActionByAction() throws Exception {
        String tenant = "acme-" + UUID.randomUUID().toString().substring(0, 8);

        admin(HttpMethod.POST, "/v1/admin/tenants", "create-tenant",
                "{\"id\": \"" + tenant + "\", \"name\": \"Acme\", \"rpm\": 100}")
                .expectStatus().isCreated()
                .expectBody().jsonPath("$.id").isEqualTo(tenant).jsonPath("$.rpm").isEqualTo(100)
                .jsonPath("$.tpm").isEmpty();
        admin(HttpMethod.PATCH, "/v1/admin/tenants/" + tenant, "patch-tenant",
                "{\"rpm\": null, \"tpm\": 5000, \"allowed_models\": [\"tiny-chat\"]}")
                .expectStatus().isOk()
                .expectBody().jsonPath("$.rpm").isEmpty().jsonPath("$.tpm").isEqualTo(5000)
                .jsonPath("$.allowed_models[0]").isEqualTo("tiny-chat");
        web.get().uri("/v1/admin/tenants").exchange().expectStatus().isOk()
                .expectBody().jsonPath("$.object").isEqualTo("list")
                .jsonPath("$.data[?(@.id == '" + tenant + "')].tpm").isEqualTo(5000);

        JsonNode created = body(admin(HttpMethod.POST, "/v1/admin/keys", "create-key",
                "{\"tenant\": \"" + tenant + "\", \"name\": \"ci\", \"scopes\": [\"chat\"], \"rpm\": 10}")
                .expectStatus().isCreated());
        String key = created.get("key").asText();
        String keyId = created.get("id").asText();
        assertThat(key).startsWith("tsk_");
        assertThat(created.get("prefix").asText()).isEqualTo(key.substring(0, 12));
        assertThat(created.get("tenant").asText()).isEqualTo(tenant);

        JsonNode listed = body(web.get().uri("/v1/admin/keys?tenant=" + tenant).exchange().expectStatus().isOk());
        assertThat(listed.get("data")).singleElement().satisfies(k -> {
            assertThat(k.get("id").asText()).isEqualTo(keyId);
            assertThat(k.has("key")).isFalse();
            assertThat(k.has("hash")).isFalse();
            assertThat(k.get("revoked_at").isNull()).isTrue();
        });

        chatAs(key).expectStatus().isOk();
        awaitSettled(tenant, 1);
        web.get().uri("/v1/admin/usage?tenant=" + tenant).exchange().expectStatus().isOk()
                .expectBody()
                .jsonPath("$.data.length()").isEqualTo(1)
                .jsonPath("$.data[0].key_id").isEqualTo(keyId)
                .jsonPath("$.data[0].model").isEqualTo("tiny-chat")
                .jsonPath("$.data[0].requests").isEqualTo(1)
                .jsonPath("$.data[0].prompt_tokens").isEqualTo(5)
                .jsonPath("$.data[0].completion_tokens").isEqualTo(3)
                .jsonPath("$.data[0].total_tokens").isEqualTo(8);

        admin(HttpMethod.DELETE, "/v1/admin/keys/" + keyId, "revoke-key", null)
                .expectStatus().isOk()
                .expectBody().jsonPath("$.revoked_at").isNotEmpty();
        chatAs(key).expectStatus().isUnauthorized();

        JsonNode audit = body(web.get().uri("/v1/admin/audit?limit=1000").exchange().expectStatus().isOk());
        List<String> expected = List.of("create-tenant:tenant.create:" + tenant,
                "patch-tenant:tenant.update_limits:" + tenant, "create-key:key.create:" + keyId,
                "revoke-key:key.revoke:" + keyId);
        for (String entry : expected) {
            String[] parts = entry.split(":");
            assertThat(audit.get("data")).filteredOn(e -> e.get("request_id").asText().equals(parts[0] + "-" + run))
                    .singleElement().satisfies(e -> {
                        assertThat(e.get("action").asText()).isEqualTo(parts[1]);
                        assertThat(e.get("target").asText()).isEqualTo(parts[2]);
                        assertThat(e.get("actor").asText()).startsWith("key:");
                        assertThat(e.get("actor_tenant").asText()).isEqualTo("default");
                    });
        }
        assertThat(audit.toString()).doesNotContain(key);
    }

    @Test
    void theAuditLogIsFilteredByActionTextAndTimeAndPagedOlder() throws Exception {
        String tenant = "audit-" + UUID.randomUUID().toString().substring(0, 8);
        Instant before = Instant.now().minusSeconds(1);
        admin(HttpMethod.POST, "/v1/admin/tenants", "audit-create", "{\"id\": \"" + tenant + "\"}")
                .expectStatus().isCreated();
        admin(HttpMethod.PATCH, "/v1/admin/tenants/" + tenant, "audit-patch-1", "{\"rpm\": 10}").expectStatus().isOk();
        admin(HttpMethod.PATCH, "/v1/admin/tenants/" + tenant, "audit-patch-2", "{\"rpm\": 20}").expectStatus().isOk();

        JsonNode patches = body(web.get().uri("/v1/admin/audit?action=tenant.update_limits&text="
                + tenant.toUpperCase() + "&since=" + before).exchange().expectStatus().isOk());
        assertThat(patches.get("data")).extracting(e -> e.get("request_id").asText())
                .containsExactly("audit-patch-2-" + run, "audit-patch-1-" + run);
        long newest = patches.get("data").get(0).get("id").asLong();

        JsonNode older = body(web.get().uri("/v1/admin/audit?text=" + tenant + "&before_id=" + newest + "&limit=1")
                .exchange().expectStatus().isOk());
        assertThat(older.get("data")).extracting(e -> e.get("request_id").asText())
                .containsExactly("audit-patch-1-" + run);
        assertThat(body(web.get().uri("/v1/admin/audit?text=" + tenant + "&until=" + before).exchange()
                .expectStatus().isOk()).get("data")).isEmpty();
        web.get().uri("/v1/admin/audit?since=yesterday").exchange().expectStatus().isBadRequest()
                .expectBody().jsonPath("$.error.param").isEqualTo("since");
        assertThat(body(web.get().uri("/v1/admin/audit?text=50%25_off").exchange().expectStatus().isOk())
                .get("data")).as("% and _ are the text itself, not patterns").isEmpty();
    }

    @Test
    void anIngestionQuotaIsSetPatchedKeptClearedAndShownWithTheTenant() {
        String tenant = "quota-" + UUID.randomUUID().toString().substring(0, 8);

        admin(HttpMethod.POST, "/v1/admin/tenants", "quota-create",
                "{\"id\": \"" + tenant + "\", \"ingest_tokens_per_day\": 100000}")
                .expectStatus().isCreated()
                .expectBody().jsonPath("$.ingest_tokens_per_day").isEqualTo(100000);
        // Beyond an int: a day of a large tenant's uploads.
        admin(HttpMethod.PATCH, "/v1/admin/tenants/" + tenant, "quota-raise",
                "{\"ingest_tokens_per_day\": 5000000000}")
                .expectStatus().isOk()
                .expectBody().jsonPath("$.ingest_tokens_per_day").isEqualTo(5_000_000_000L);
        admin(HttpMethod.PATCH, "/v1/admin/tenants/" + tenant, "quota-keep", "{\"rpm\": 7}")
                .expectStatus().isOk()
                .expectBody().jsonPath("$.rpm").isEqualTo(7)
                .jsonPath("$.ingest_tokens_per_day").isEqualTo(5_000_000_000L);
        web.get().uri("/v1/admin/tenants").exchange().expectStatus().isOk()
                .expectBody().jsonPath("$.data[?(@.id == '" + tenant + "')].ingest_tokens_per_day")
                .isEqualTo(5_000_000_000L);
        admin(HttpMethod.PATCH, "/v1/admin/tenants/" + tenant, "quota-clear", "{\"ingest_tokens_per_day\": null}")
                .expectStatus().isOk()
                .expectBody().jsonPath("$.ingest_tokens_per_day").isEmpty().jsonPath("$.rpm").isEqualTo(7);
        assertThat(tenants.find(tenant).orElseThrow().ingestTokensPerDay()).isNull();

        for (String bad : List.of("0", "-5", "1.5", "\"1000\"", "[1]")) {
            admin(HttpMethod.PATCH, "/v1/admin/tenants/" + tenant, "quota-bad",
                    "{\"ingest_tokens_per_day\": " + bad + "}")
                    .expectStatus().isBadRequest()
                    .expectBody().jsonPath("$.error.param").isEqualTo("ingest_tokens_per_day")
                    .jsonPath("$.error.message")
                    .isEqualTo("'ingest_tokens_per_day' must be a positive integer or null.");
        }
        admin(HttpMethod.POST, "/v1/admin/tenants", "quota-create-bad",
                "{\"id\": \"" + tenant + "-2\", \"ingest_tokens_per_day\": 0}")
                .expectStatus().isBadRequest()
                .expectBody().jsonPath("$.error.param").isEqualTo("ingest_tokens_per_day");
        assertThat(tenants.find(tenant + "-2")).isEmpty();
        assertThat(tenants.find(tenant).orElseThrow().ingestTokensPerDay()).isNull();
    }

    @Test
    void usageSeriesSumsEachDayOrHourPerTenantAndKeyOldestFirst() throws Exception {
        String tenant = TestKeys.tenant(tenants, null, null, null);
        KeyStore.Created key = TestKeys.key(keys, tenant, List.of("chat"), null, null, null, null);
        Instant today = Instant.now().truncatedTo(ChronoUnit.DAYS);
        Instant yesterday = today.minus(1, ChronoUnit.DAYS).plus(5, ChronoUnit.HOURS);
        for (Object[] row : new Object[][] {{yesterday, 10, 2}, {today.plusSeconds(60), 3, 4}, {today.plusSeconds(120), 5, 6}}) {
            jdbc.update("""
                    INSERT INTO usage_record (at, tenant_id, key_id, subject, endpoint, model, prompt_tokens,
                                              completion_tokens)
                    VALUES (?, ?, ?, 'test', '/v1/chat/completions', 'tiny-chat', ?, ?)""",
                    java.sql.Timestamp.from((Instant) row[0]), tenant, key.info().id(), row[1], row[2]);
        }

        JsonNode days = body(web.get().uri("/v1/admin/usage/series?tenant=" + tenant + "&interval=day&days=3")
                .exchange().expectStatus().isOk()).get("data");
        assertThat(days).hasSize(2);
        assertThat(days.get(0).get("period_start").asText()).isEqualTo(yesterday.truncatedTo(ChronoUnit.DAYS).toString());
        assertThat(days.get(0).get("requests").asLong()).isEqualTo(1);
        assertThat(days.get(0).get("total_tokens").asLong()).isEqualTo(12);
        assertThat(days.get(1).get("period_start").asText()).isEqualTo(today.toString());
        assertThat(days.get(1).get("key_id").asText()).isEqualTo(key.info().id().toString());
        assertThat(days.get(1).get("requests").asLong()).isEqualTo(2);
        assertThat(days.get(1).get("prompt_tokens").asLong()).isEqualTo(8);
        assertThat(days.get(1).get("completion_tokens").asLong()).isEqualTo(10);

        JsonNode hours = body(web.get().uri("/v1/admin/usage/series?key=" + key.info().id() + "&interval=hour&days=3")
                .exchange().expectStatus().isOk()).get("data");
        assertThat(hours).hasSize(2);
        assertThat(hours.get(0).get("period_start").asText()).isEqualTo(yesterday.toString());

        web.get().uri("/v1/admin/usage/series?interval=week").exchange().expectStatus().isBadRequest()
                .expectBody().jsonPath("$.error.param").isEqualTo("interval");
        web.get().uri("/v1/admin/usage/series?days=0").exchange().expectStatus().isBadRequest()
                .expectBody().jsonPath("$.error.param").isEqualTo("days");
    }

    @Test
    void refusalsNameTheProblem() {
        admin(HttpMethod.POST, "/v1/admin/keys", "k1", "{\"tenant\": \"no-such-tenant\", \"scopes\": [\"chat\"]}")
                .expectStatus().isNotFound();
        admin(HttpMethod.POST, "/v1/admin/keys", "k2", "{\"tenant\": \"default\", \"scopes\": [\"root\"]}")
                .expectStatus().isBadRequest().expectBody().jsonPath("$.error.param").isEqualTo("scopes");
        admin(HttpMethod.POST, "/v1/admin/tenants", "t1", "{\"id\": \"default\"}")
                .expectStatus().isEqualTo(409);
        admin(HttpMethod.POST, "/v1/admin/tenants", "t2", "{\"id\": \"Not Valid\"}")
                .expectStatus().isBadRequest().expectBody().jsonPath("$.error.param").isEqualTo("id");
        admin(HttpMethod.PATCH, "/v1/admin/tenants/default", "t3", "{\"rpm\": 0}")
                .expectStatus().isBadRequest().expectBody().jsonPath("$.error.param").isEqualTo("rpm");
        admin(HttpMethod.DELETE, "/v1/admin/keys/" + UUID.randomUUID(), "k3", null).expectStatus().isNotFound();
    }

    @Test
    void keyWithoutTheAdminScopeIs403OnEveryAdminRouteAndChangesNothing() throws Exception {
        String tenant = TestKeys.tenant(tenants, null, null, null);
        String key = TestKeys.key(keys, tenant, List.of("chat", "embeddings"), null, null, null, null).plaintext();
        KeyStore.Created victim = TestKeys.key(keys, tenant, List.of("chat"), null, null, null, null);
        WebTestClient asUser = web.mutate().defaultHeader("Authorization", "Bearer " + key).build();
        int auditBefore = body(web.get().uri("/v1/admin/audit?limit=1000").exchange()).get("data").size();

        for (String[] call : new String[][] {
            {"GET", "/v1/admin/keys", null},
            {"POST", "/v1/admin/keys", "{\"tenant\": \"" + tenant + "\", \"scopes\": [\"admin\"]}"},
            {"DELETE", "/v1/admin/keys/" + victim.info().id(), null},
            {"GET", "/v1/admin/tenants", null},
            {"POST", "/v1/admin/tenants", "{\"id\": \"sneaky\"}"},
            {"PATCH", "/v1/admin/tenants/" + tenant, "{\"rpm\": 1}"},
            {"GET", "/v1/admin/usage", null},
            {"GET", "/v1/admin/usage/series", null},
            {"GET", "/v1/admin/audit", null},
        }) {
            var request = asUser.method(HttpMethod.valueOf(call[0])).uri(call[1]);
            (call[2] == null ? request : request.contentType(MediaType.APPLICATION_JSON).bodyValue(call[2]))
                    .exchange()
                    .expectStatus().isForbidden()
                    .expectBody().jsonPath("$.error.type").isEqualTo("permission_error")
                    .jsonPath("$.error.code").isEqualTo("insufficient_scope");
        }

        assertThat(keys.find(victim.info().id()).orElseThrow().revokedAt()).isNull();
        assertThat(tenants.find("sneaky")).isEmpty();
        assertThat(keys.list(tenant)).hasSize(2);
        assertThat(body(web.get().uri("/v1/admin/audit?limit=1000").exchange()).get("data").size())
                .isEqualTo(auditBefore);
    }

    private WebTestClient.ResponseSpec admin(HttpMethod method, String uri, String requestId, String body) {
        var request = web.method(method).uri(uri).header("X-Request-Id", requestId + "-" + run);
        return (body == null ? request : request.contentType(MediaType.APPLICATION_JSON).bodyValue(body)).exchange();
    }


    private JsonNode body(WebTestClient.ResponseSpec response) throws Exception {
        return json.readTree(response.expectBody(byte[].class).returnResult().getResponseBody());
    }
}
