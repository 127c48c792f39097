-- An ingest job outlives its collection. Deleting a collection used to delete its jobs with it
-- (ON DELETE CASCADE): a caller watching a running job lost it mid-watch, and an upload racing
-- the delete failed on this foreign key. Now the delete fails the collection's running jobs
-- (saying why) and the key is set to NULL: every job stays readable by its id, and nothing left
-- refers to the deleted collection. collection_name keeps the name the job was started with.
ALTER TABLE ingest_jobs
    ALTER COLUMN collection_id DROP NOT NULL,
    DROP CONSTRAINT ingest_jobs_collection_id_fkey,
    ADD CONSTRAINT ingest_jobs_collection_id_fkey
        FOREIGN KEY (collection_id) REFERENCES collections (id) ON DELETE SET NULL;
-- The delete looks up a collection's jobs (to fail the running ones, then to unlink them all).
CREATE INDEX ingest_jobs_collection ON ingest_jobs (collection_id);
