-- Gateway state: tenants, api keys (hashes only), usage, audit, rate-limit buckets.

CREATE TABLE tenant (
    id             text PRIMARY KEY,
    name           text,
    rpm            integer CHECK (rpm > 0),           -- requests per minute, NULL = unlimited
    tpm            integer CHECK (tpm > 0),           -- tokens per minute, NULL = unlimited
    allowed_models text[],                            -- NULL = every model
    created_at     timestamptz NOT NULL DEFAULT now(),
    updated_at     timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE api_key (
    id             uuid PRIMARY KEY,
    prefix         text NOT NULL,                     -- first characters of the key, not secret
    hash           bytea NOT NULL,                    -- SHA-256 of the whole key; the key itself is never stored
    tenant_id      text NOT NULL REFERENCES tenant (id),
    name           text,
    scopes         text[] NOT NULL,
    allowed_models text[],
    rpm            integer CHECK (rpm > 0),
    tpm            integer CHECK (tpm > 0),
    expires_at     timestamptz,
    revoked_at     timestamptz,
    created_by     text,
    created_at     timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX api_key_prefix ON api_key (prefix);

CREATE TABLE usage_record (
    id                bigserial PRIMARY KEY,
    at                timestamptz NOT NULL DEFAULT now(),
    tenant_id         text NOT NULL,
    key_id            uuid,
    subject           text NOT NULL,
    endpoint          text NOT NULL,
    model             text NOT NULL,
    prompt_tokens     integer NOT NULL,
    completion_tokens integer NOT NULL,
    request_id        text
);
CREATE INDEX usage_record_tenant ON usage_record (tenant_id, at);
CREATE INDEX usage_record_key ON usage_record (key_id, at);

CREATE TABLE audit_event (
    id           bigserial PRIMARY KEY,
    at           timestamptz NOT NULL DEFAULT now(),
    actor        text NOT NULL,
    actor_tenant text NOT NULL,
    action       text NOT NULL,
    target       text,
    detail       jsonb,
    request_id   text
);

-- One token bucket per (key or tenant) x (requests or tokens). tokens may go below zero when
-- a call used more than it reserved; it then refills from there.
CREATE TABLE rate_bucket (
    id         text PRIMARY KEY,
    capacity   double precision NOT NULL,
    tokens     double precision NOT NULL,
    updated_at timestamptz NOT NULL
);

-- Takes p_takes[i] from bucket p_ids[i] for every i, or from none of them. Buckets are
-- created full, refilled continuously at capacity per p_window_s seconds, and locked in id
-- order so two admissions that share buckets cannot deadlock. One round trip per request.
CREATE FUNCTION rate_admit(p_ids text[], p_caps double precision[], p_takes double precision[],
                           p_window_s double precision)
    RETURNS TABLE (bucket text, capacity double precision, level double precision, granted boolean)
    LANGUAGE plpgsql AS
$$
DECLARE
    t      timestamptz := clock_timestamp();
    all_ok boolean     := true;
    r      record;
    ids    text[]      := '{}';
    caps   double precision[] := '{}';
    takes  double precision[] := '{}';
    levels double precision[] := '{}';
BEGIN
    INSERT INTO rate_bucket (id, capacity, tokens, updated_at)
    SELECT u.id, u.cap, u.cap, t FROM unnest(p_ids, p_caps) AS u(id, cap)
    ON CONFLICT (id) DO NOTHING;
    FOR r IN
        SELECT b.id, u.cap, u.take,
               LEAST(u.cap, b.tokens + GREATEST(0, EXTRACT(EPOCH FROM (t - b.updated_at))) * u.cap / p_window_s) AS lvl
        FROM rate_bucket b JOIN unnest(p_ids, p_caps, p_takes) AS u(id, cap, take) ON b.id = u.id
        ORDER BY b.id
        FOR UPDATE OF b
    LOOP
        ids := ids || r.id; caps := caps || r.cap; takes := takes || r.take; levels := levels || r.lvl;
        IF r.lvl < r.take THEN all_ok := false; END IF;
    END LOOP;
    FOR i IN 1 .. coalesce(array_length(ids, 1), 0) LOOP
        IF all_ok THEN
            UPDATE rate_bucket b SET capacity = caps[i], tokens = levels[i] - takes[i],
                                     updated_at = GREATEST(b.updated_at, t)
            WHERE b.id = ids[i];
        END IF;
        bucket := ids[i]; capacity := caps[i];
        level := levels[i] - CASE WHEN all_ok THEN takes[i] ELSE 0 END;
        granted := levels[i] >= takes[i];
        RETURN NEXT;
    END LOOP;
END;
$$;

-- Gives back (positive p_deltas) or takes more (negative) once a call's real usage is known.
CREATE FUNCTION rate_settle(p_ids text[], p_caps double precision[], p_deltas double precision[],
                            p_window_s double precision)
    RETURNS void
    LANGUAGE plpgsql AS
$$
DECLARE
    t timestamptz := clock_timestamp();
    r record;
BEGIN
    FOR r IN
        SELECT b.id, u.cap, u.delta,
               LEAST(u.cap, b.tokens + GREATEST(0, EXTRACT(EPOCH FROM (t - b.updated_at))) * u.cap / p_window_s) AS lvl
        FROM rate_bucket b JOIN unnest(p_ids, p_caps, p_deltas) AS u(id, cap, delta) ON b.id = u.id
        ORDER BY b.id
        FOR UPDATE OF b
    LOOP
        UPDATE rate_bucket b SET tokens = LEAST(r.cap, r.lvl + r.delta), updated_at = GREATEST(b.updated_at, t)
        WHERE b.id = r.id;
    END LOOP;
END;
$$;
