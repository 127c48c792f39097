-- Retrieval settings a collection sets for itself, e.g. {"fusion": {"vector": 1.0,
-- "full_text": 0.5}}; what it leaves out takes the service's current defaults.
ALTER TABLE collections ADD COLUMN settings jsonb NOT NULL DEFAULT '{}';
