-- Batches, their lines (input and, once finished, result) and their status history.
CREATE TABLE batches (
    id                text PRIMARY KEY,
    tenant_id         text NOT NULL,
    endpoint          text NOT NULL,
    status            text NOT NULL,
    completion_window text NOT NULL,
    metadata          jsonb NOT NULL DEFAULT '{}',
    idempotency_key   text,
    error             text NOT NULL DEFAULT '',
    -- Line counts; pending = total - completed - failed - skipped.
    request_total     int NOT NULL,
    request_completed int NOT NULL DEFAULT 0,
    request_failed    int NOT NULL DEFAULT 0,
    request_skipped   int NOT NULL DEFAULT 0,
    -- Summed over finished lines, whatever the batch's final status: what the tenant is charged.
    prompt_tokens     bigint NOT NULL DEFAULT 0,
    completion_tokens bigint NOT NULL DEFAULT 0,
    total_tokens      bigint NOT NULL DEFAULT 0,
    created_at        timestamptz NOT NULL DEFAULT now(),
    expires_at        timestamptz NOT NULL,
    in_progress_at    timestamptz,
    finalizing_at     timestamptz,
    completed_at      timestamptz,
    failed_at         timestamptz,
    cancelling_at     timestamptz,
    cancelled_at      timestamptz,
    expired_at        timestamptz,
    UNIQUE (tenant_id, idempotency_key)
);
CREATE INDEX batches_by_tenant ON batches (tenant_id, created_at DESC, id DESC);
CREATE INDEX batches_open_by_expiry ON batches (expires_at)
    WHERE status IN ('validating', 'in_progress', 'cancelling');

CREATE TABLE batch_transitions (
    id          bigserial PRIMARY KEY,
    batch_id    text NOT NULL REFERENCES batches (id) ON DELETE CASCADE,
    from_status text,
    to_status   text NOT NULL,
    reason      text NOT NULL,
    at          timestamptz NOT NULL DEFAULT clock_timestamp()
);
CREATE INDEX batch_transitions_by_batch ON batch_transitions (batch_id, id);

-- One row per input line; the result is written into it once (outcome leaves 'pending'
-- exactly once), which is what makes redelivered Kafka items harmless.
CREATE TABLE batch_lines (
    batch_id          text NOT NULL REFERENCES batches (id) ON DELETE CASCADE,
    custom_id         text NOT NULL,
    line_index        int NOT NULL,
    body              jsonb,  -- NULL for a line refused as invalid
    outcome           text NOT NULL DEFAULT 'pending',  -- pending, succeeded, failed, cancelled, expired
    attempts          int NOT NULL DEFAULT 0,
    started_at        timestamptz,
    finished_at       timestamptz,
    status_code       int NOT NULL DEFAULT 0,
    response          jsonb,
    error_code        text NOT NULL DEFAULT '',
    error_message     text NOT NULL DEFAULT '',
    prompt_tokens     int NOT NULL DEFAULT 0,
    completion_tokens int NOT NULL DEFAULT 0,
    total_tokens      int NOT NULL DEFAULT 0,
    PRIMARY KEY (batch_id, custom_id),
    UNIQUE (batch_id, line_index)
);
