-- Admission and settlement no longer wait for their commit to reach the disk. Buckets are
-- soft state refilled by time: if the database crashes, the last fraction of a second of
-- takes is lost and those buckets are a little fuller than they should be, never emptier.
-- Waiting for the WAL flush would put a disk write on the path of every model call.
-- set_config(..., true) lasts to the end of the calling transaction (a SET clause on the
-- function would end with the function, before the commit it is meant for). Usage rows, the
-- audit log and keys keep synchronous commits. The bodies are V1's with that one line added.

CREATE OR REPLACE FUNCTION rate_admit(p_ids text[], p_caps double precision[], p_takes double precision[],
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
    PERFORM set_config('synchronous_commit', 'off', true);
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
CREATE OR REPLACE FUNCTION rate_settle(p_ids text[], p_caps double precision[], p_deltas double precision[],
                            p_window_s double precision)
    RETURNS void
    LANGUAGE plpgsql AS
$$
DECLARE
    t timestamptz := clock_timestamp();
    r record;
BEGIN
    PERFORM set_config('synchronous_commit', 'off', true);
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
