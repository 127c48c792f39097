-- A tenant's ingestion quota: embedding tokens its document uploads may use per day, NULL =
-- unlimited. Enforced as a rate_bucket ('tenant:<id>:ingest_tokens') of that capacity refilling
-- over 24 hours; an upload that needs more than the bucket holds is refused before the RAG
-- service stores anything. bigint: a large tenant may ingest more than 2^31 tokens a day.
ALTER TABLE tenant ADD COLUMN ingest_tokens_per_day bigint CHECK (ingest_tokens_per_day > 0);
