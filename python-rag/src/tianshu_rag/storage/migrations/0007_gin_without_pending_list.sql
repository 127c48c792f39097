-- With GIN's fastupdate (PostgreSQL's default), new chunks go to a pending list that every
-- full-text search then scans linearly until VACUUM merges it. During a bulk ingest that list
-- is always full (4 MB), and a search of any collection, of any tenant, paid for another
-- tenant's upload: full-text SQL went from ~1 ms to ~20 ms while one tenant ingested 20,000
-- documents (docs/benchmarks.md, "RAG under bulk ingestion"). Without it an insert updates
-- the index directly: ingestion's COPY costs a little more, searches stay as fast as idle.
ALTER INDEX chunks_tsv SET (fastupdate = off);
ALTER INDEX chunks_metadata SET (fastupdate = off);
-- Entries already pending stay there until merged; merge them now.
SELECT gin_clean_pending_list('chunks_tsv'::regclass);
SELECT gin_clean_pending_list('chunks_metadata'::regclass);
