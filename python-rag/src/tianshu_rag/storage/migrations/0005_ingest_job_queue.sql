-- Ingest jobs wait in a queue: each replica runs at most a few at once (28 uploads of one
-- tenant started at once kept every Embed call of the inference service busy and no job
-- finished before the others). A queued job's documents, already checked and chunked, are
-- stored with it (ingest_job_inputs, one row per document, written in the transaction that
-- creates the job), so any replica can run it, and a restart loses nothing. Rows of a job are
-- deleted when it ends.
CREATE TABLE ingest_job_inputs (
    job_id   uuid  NOT NULL REFERENCES ingest_jobs (id) ON DELETE CASCADE,
    position int   NOT NULL,
    -- ingestion/job_inputs.py: the prepared document (version, chunks, search terms) as JSON;
    -- bytea, not jsonb: nothing queries inside it, and it is read back whole.
    document bytea NOT NULL,
    PRIMARY KEY (job_id, position)
);

-- When the job last started running: tenants take turns for free slots by who started a job
-- longest ago (ingestion/job_queue.py). NULL while queued.
ALTER TABLE ingest_jobs ADD COLUMN started_at timestamptz;
-- Embedding tokens the job uses, counted when it was created (what the tenant is charged).
ALTER TABLE ingest_jobs ADD COLUMN embedding_tokens bigint NOT NULL DEFAULT 0;
CREATE INDEX ingest_jobs_queued ON ingest_jobs (created_at) WHERE state = 'QUEUED';
CREATE INDEX ingest_jobs_tenant_started ON ingest_jobs (tenant_id, started_at) WHERE started_at IS NOT NULL;

-- Every change of the queue (a job queued, or one leaving the queue: started, failed) is
-- announced on channel 'ingest_job_queue': idle replicas start the job at once instead of at
-- their next poll, and watchers of queued jobs re-read their place. 0003's trigger still
-- announces each job's own changes on 'ingest_job'; its function now takes the channel from
-- the trigger (none = 'ingest_job', so that trigger is unchanged).
CREATE OR REPLACE FUNCTION ingest_job_notify() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN PERFORM pg_notify(coalesce(TG_ARGV[0], 'ingest_job'), NEW.id::text); RETURN NULL; END
$$;

CREATE TRIGGER ingest_job_queued AFTER INSERT ON ingest_jobs FOR EACH ROW
    WHEN (NEW.state = 'QUEUED')
    EXECUTE FUNCTION ingest_job_notify('ingest_job_queue');
CREATE TRIGGER ingest_job_queue_changed AFTER UPDATE ON ingest_jobs FOR EACH ROW
    WHEN (OLD.state IS DISTINCT FROM NEW.state AND 'QUEUED' IN (OLD.state, NEW.state))
    EXECUTE FUNCTION ingest_job_notify('ingest_job_queue');
