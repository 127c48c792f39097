-- The embedding model of a job's collection, kept with the job when it is created: callers
-- bill a job's embedding tokens under that model (the gateway's usage rows), and a job stays
-- readable after its collection is deleted (0004), so the model cannot be looked up later.
-- Jobs created before this migration keep the empty string.
ALTER TABLE ingest_jobs ADD COLUMN embedding_model text NOT NULL DEFAULT '';
