-- Every change of an ingest job's progress or state is announced on channel 'ingest_job'
-- with the job's id, so WatchIngestJob waits for news instead of re-reading the row.
-- PostgreSQL delivers a NOTIFY when its transaction commits: a watcher that re-reads on it
-- sees the change (SUCCEEDED exactly when the documents are visible). Lease renewals change
-- neither column and wake nobody.
CREATE FUNCTION ingest_job_notify() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_notify('ingest_job', NEW.id::text);
    RETURN NULL;
END
$$;

CREATE TRIGGER ingest_job_changed AFTER UPDATE ON ingest_jobs FOR EACH ROW
    WHEN (OLD.state IS DISTINCT FROM NEW.state OR OLD.updated_at IS DISTINCT FROM NEW.updated_at)
    EXECUTE FUNCTION ingest_job_notify();
