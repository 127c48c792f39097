-- Completion webhooks: the delivery state lives on the batch, so that it survives a restart
-- and is marked due in the same transaction as the batch's final status change.
ALTER TABLE batches
    ADD COLUMN webhook_url              text,
    -- NULL without a webhook; pending (also before the batch is final), delivered, failed.
    ADD COLUMN webhook_status           text,
    ADD COLUMN webhook_attempts         int NOT NULL DEFAULT 0,
    -- Set when the batch becomes final; while an attempt runs, the end of its lease.
    ADD COLUMN webhook_next_attempt_at  timestamptz,
    ADD COLUMN webhook_last_status_code int NOT NULL DEFAULT 0,
    ADD COLUMN webhook_last_error       text NOT NULL DEFAULT '',
    ADD COLUMN webhook_delivered_at     timestamptz;
CREATE INDEX batches_webhooks_due ON batches (webhook_next_attempt_at)
    WHERE webhook_status = 'pending' AND webhook_next_attempt_at IS NOT NULL;

-- The usage ledger: one row per finished line that used tokens, written in the line's own
-- transaction. A row gets its sequence only once the transaction that wrote it is older than
-- every running one (xid below the snapshot's xmin), and sequences are handed out in
-- (xid, id) order under a lock: a reader that remembers the last sequence misses nothing.
CREATE TABLE usage_ledger (
    id                bigserial PRIMARY KEY,
    xid               xid8 NOT NULL DEFAULT pg_current_xact_id(),
    sequence          bigint UNIQUE,
    tenant_id         text NOT NULL,
    batch_id          text NOT NULL,
    custom_id         text NOT NULL,
    endpoint          text NOT NULL,
    model             text NOT NULL,
    prompt_tokens     bigint NOT NULL,
    completion_tokens bigint NOT NULL,
    finished_at       timestamptz NOT NULL,
    UNIQUE (batch_id, custom_id)
);
CREATE INDEX usage_ledger_unsequenced ON usage_ledger (xid, id) WHERE sequence IS NULL;
