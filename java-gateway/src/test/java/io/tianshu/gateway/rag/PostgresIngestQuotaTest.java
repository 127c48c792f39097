package io.tianshu.gateway.rag;

/** The ingestion quota with the buckets in PostgreSQL, the default store. */
class PostgresIngestQuotaTest extends IngestQuotaTest {
}
