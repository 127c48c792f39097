-- A lease on running ingest jobs. The process running a job keeps pushing
-- lease_expires_at forward (database clock, so replicas' clocks do not matter); a job still
-- RUNNING after its lease ran out belongs to a process that died (crash, OOM kill, lost
-- node) and any replica marks it FAILED. Jobs already running when this applies get a lease
-- that has run out: the code that started them renews nothing.
ALTER TABLE ingest_jobs ADD COLUMN lease_expires_at timestamptz NOT NULL DEFAULT now();
CREATE INDEX ingest_jobs_running_lease ON ingest_jobs (lease_expires_at) WHERE state = 'RUNNING';
