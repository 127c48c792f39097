package io.tianshu.gateway.rag;

import org.springframework.test.context.TestPropertySource;

/** The ingestion quota with the buckets in the gateway's memory. */
@TestPropertySource(properties = "tianshu.limits.store=memory")
class MemoryIngestQuotaTest extends IngestQuotaTest {
}
