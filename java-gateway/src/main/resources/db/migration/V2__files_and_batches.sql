-- Files uploaded for batches, which batch each was created from, and how far the batch
-- service's usage ledger has been charged to tenants' quotas.

-- An uploaded JSONL file (purpose "batch"). The content lives here rather than on a disk of
-- one gateway instance, so every instance serves it and a backup holds it.
CREATE TABLE batch_file (
    id         text PRIMARY KEY,                      -- "file-" + random
    tenant_id  text NOT NULL,
    purpose    text NOT NULL,
    filename   text NOT NULL,
    bytes      bigint NOT NULL,
    line_count integer NOT NULL,                      -- request lines (blank lines not counted)
    created_at timestamptz NOT NULL DEFAULT now(),
    content    bytea NOT NULL
);
-- Uncompressed out-of-line storage lets substring() read a slice without detoasting the whole
-- value, so content is streamed a slice at a time; JSONL would compress well, but a file of
-- 100 MB read whole per request would not be streaming.
ALTER TABLE batch_file ALTER COLUMN content SET STORAGE EXTERNAL;
CREATE INDEX batch_file_tenant ON batch_file (tenant_id, created_at DESC, id DESC);

-- The batch service does not know files; the gateway remembers which file a batch came from.
CREATE TABLE batch_input (
    batch_id      text PRIMARY KEY,
    tenant_id     text NOT NULL,
    input_file_id text NOT NULL,
    created_at    timestamptz NOT NULL DEFAULT now()
);

-- The last ledger sequence charged. One row, locked by the charger of whichever gateway
-- instance runs a round, and advanced in the same transaction as the charges it stands for.
CREATE TABLE batch_usage_cursor (
    id             text PRIMARY KEY,
    after_sequence bigint NOT NULL,
    updated_at     timestamptz NOT NULL DEFAULT now()
);
INSERT INTO batch_usage_cursor (id, after_sequence) VALUES ('jobs', 0);

-- Takes p_amounts[i] from bucket p_ids[i] unconditionally, even below zero: usage that has
-- already happened (a batch line ran) is charged whatever the level, and the tenant's next
-- interactive calls wait until the bucket refills. A bucket not yet used is created full first.
CREATE FUNCTION rate_charge(p_ids text[], p_caps double precision[], p_amounts double precision[],
                            p_window_s double precision)
    RETURNS void
    LANGUAGE plpgsql AS
$$
DECLARE
    t       timestamptz := clock_timestamp();
    negated double precision[];
BEGIN
    INSERT INTO rate_bucket (id, capacity, tokens, updated_at)
    SELECT u.id, u.cap, u.cap, t FROM unnest(p_ids, p_caps) AS u(id, cap)
    ON CONFLICT (id) DO NOTHING;
    SELECT array_agg(-a ORDER BY n) INTO negated FROM unnest(p_amounts) WITH ORDINALITY AS u(a, n);
    PERFORM rate_settle(p_ids, p_caps, negated, p_window_s);
END;
$$;
