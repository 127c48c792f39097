-- Admission of several calls in one statement. Under load a gateway instance has many calls
-- waiting to be admitted against the same key's and tenant's buckets; one statement per call
-- made each wait for the row locks of the one before (a convoy: admission p99 of 0.2-0.4 s at
-- 64 concurrent calls on 2 cores). PostgresBucketStore now sends the calls that arrive while a
-- statement is under way together, in this one.
--
-- Call i's takes are the rows with p_calls = i (rows of one call next to each other, calls in
-- ascending order). Calls are taken in that order, each all-or-nothing exactly as rate_admit
-- takes one: granted only if every one of its buckets holds its amount after the calls before
-- it, and then taken from all of them. So the outcome is that of the same calls admitted one
-- after another, and gateways sharing the database stay exact: every bucket of the batch is
-- locked, in id order as rate_admit locks them, for the whole statement.

CREATE OR REPLACE FUNCTION rate_admit_many(p_calls integer[], p_ids text[], p_caps double precision[],
                                           p_takes double precision[], p_window_s double precision)
    RETURNS TABLE (call integer, bucket text, capacity double precision, level double precision,
                   granted boolean)
    LANGUAGE plpgsql AS
$$
DECLARE
    t        timestamptz := clock_timestamp();
    n        integer     := coalesce(array_length(p_ids, 1), 0);
    r        record;
    b_ids    text[]      := '{}';   -- the batch's buckets, in id order
    b_levels double precision[] := '{}';
    b_caps   double precision[] := '{}';
    b_taken  boolean[]   := '{}';   -- whether any call took from the bucket
    pos      integer[]   := '{}';   -- row -> index of its bucket in b_ids
    first    integer;
    last     integer;
    all_ok   boolean;
    before   double precision;
BEGIN
    PERFORM set_config('synchronous_commit', 'off', true);
    INSERT INTO rate_bucket (id, capacity, tokens, updated_at)
    SELECT DISTINCT ON (u.id) u.id, u.cap, u.cap, t FROM unnest(p_ids, p_caps) AS u(id, cap)
    ORDER BY u.id
    ON CONFLICT (id) DO NOTHING;
    -- Refilled to now with the capacity the batch's last call for the bucket gives (all the same
    -- unless the limits were reloaded in between).
    FOR r IN
        SELECT b.id, b.tokens, b.updated_at, c.cap
        FROM rate_bucket b
        JOIN (SELECT DISTINCT ON (u.id) u.id, u.cap FROM unnest(p_ids, p_caps) WITH ORDINALITY AS u(id, cap, o)
              ORDER BY u.id, u.o DESC) AS c ON c.id = b.id
        ORDER BY b.id
        FOR UPDATE OF b
    LOOP
        b_ids := b_ids || r.id;
        b_caps := b_caps || r.cap;
        b_levels := b_levels || LEAST(r.cap, r.tokens
                                      + GREATEST(0, EXTRACT(EPOCH FROM (t - r.updated_at))) * r.cap / p_window_s);
        b_taken := b_taken || false;
    END LOOP;
    FOR i IN 1 .. n LOOP
        pos := pos || array_position(b_ids, p_ids[i]);
    END LOOP;

    first := 1;
    WHILE first <= n LOOP
        last := first;
        WHILE last < n AND p_calls[last + 1] = p_calls[first] LOOP
            last := last + 1;
        END LOOP;
        all_ok := true;
        FOR i IN first .. last LOOP
            IF b_levels[pos[i]] < p_takes[i] THEN
                all_ok := false;
            END IF;
        END LOOP;
        FOR i IN first .. last LOOP
            before := b_levels[pos[i]];
            IF all_ok THEN
                b_levels[pos[i]] := before - p_takes[i];
                b_taken[pos[i]] := true;
            END IF;
            call := p_calls[i];
            bucket := p_ids[i];
            capacity := p_caps[i];
            level := b_levels[pos[i]];
            granted := before >= p_takes[i];
            RETURN NEXT;
        END LOOP;
        first := last + 1;
    END LOOP;

    FOR j IN 1 .. coalesce(array_length(b_ids, 1), 0) LOOP
        IF b_taken[j] THEN
            UPDATE rate_bucket b SET capacity = b_caps[j], tokens = b_levels[j],
                                     updated_at = GREATEST(b.updated_at, t)
            WHERE b.id = b_ids[j];
        END IF;
    END LOOP;
END;
$$;

-- rate_admit stays: during a rolling upgrade the instances not yet replaced still call it, and
-- both lock in the same order, so old and new instances admit exactly between them.
