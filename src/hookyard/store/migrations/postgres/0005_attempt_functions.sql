-- Finishing attempts in one call instead of six round trips each (BEGIN, four statements,
-- COMMIT). At a few hundred deliveries a second the round trips, not the work, were the
-- cost: every connection sat "idle in transaction" waiting for the client's next step.

-- An event's status from its dispatches. The event row is locked first, in its own
-- statement: two dispatches of one event finishing together would otherwise each see
-- the other still in flight and both store "retrying" (write skew); the second now waits
-- for the first and then reads a snapshot that includes it.
CREATE FUNCTION hookyard_refresh_event_status(p_event_id TEXT) RETURNS VOID
LANGUAGE plpgsql AS $$
BEGIN
    PERFORM 1 FROM events WHERE id = p_event_id FOR UPDATE;
    UPDATE events SET status = (
        SELECT CASE
            WHEN count(*) FILTER (WHERE status = 'dead') > 0 THEN 'dead'
            WHEN count(*) FILTER (WHERE status IN ('retrying', 'in_flight')) > 0 THEN 'retrying'
            WHEN count(*) FILTER (WHERE status = 'disabled') > 0 THEN 'disabled'
            WHEN count(*) FILTER (WHERE status = 'pending') > 0 THEN 'pending'
            WHEN count(*) FILTER (WHERE status = 'delivered') > 0 THEN 'delivered'
            ELSE 'dry_run'
        END
        FROM dispatches WHERE event_id = p_event_id
    )
    WHERE id = p_event_id;
END
$$;

-- The whole of an attempt's outcome, atomically: the dispatch's new state (only while this
-- worker still holds its lease), the attempt row, the handler's processed key, the event's
-- status. Returns false, writing nothing, when the lease is no longer this worker's.
CREATE FUNCTION hookyard_record_attempt(
    p_worker_id        TEXT,
    p_status           TEXT,
    p_dispatch_id      TEXT,
    p_number           INTEGER,
    p_started_us       BIGINT,
    p_latency_ms       DOUBLE PRECISION,
    p_status_code      INTEGER,
    p_response_headers TEXT,
    p_response_excerpt BYTEA,
    p_error_class      TEXT,
    p_error_message    TEXT,
    p_decision         TEXT,
    p_next_attempt_us  BIGINT,
    p_processed_destination TEXT,
    p_processed_key    TEXT
) RETURNS BOOLEAN
LANGUAGE plpgsql AS $$
DECLARE
    v_event_id TEXT;
BEGIN
    UPDATE dispatches
    SET status = p_status, attempts = attempts + 1, next_attempt_us = p_next_attempt_us,
        last_status_code = p_status_code, lease_owner = NULL, lease_expires_us = NULL,
        updated_us = p_started_us
    WHERE id = p_dispatch_id AND lease_owner = p_worker_id
    RETURNING event_id INTO v_event_id;
    IF v_event_id IS NULL THEN
        RETURN FALSE;
    END IF;
    INSERT INTO attempts (dispatch_id, number, started_us, latency_ms, status_code,
                          response_headers, response_excerpt, error_class, error_message,
                          decision, next_attempt_us)
    VALUES (p_dispatch_id, p_number, p_started_us, p_latency_ms, p_status_code,
            p_response_headers, p_response_excerpt, p_error_class, p_error_message,
            p_decision, p_next_attempt_us);
    IF p_processed_key IS NOT NULL THEN
        INSERT INTO processed_keys (destination, key, event_id, processed_us)
        VALUES (p_processed_destination, p_processed_key, v_event_id, p_started_us)
        ON CONFLICT (destination, key) DO NOTHING;
    END IF;
    PERFORM hookyard_refresh_event_status(v_event_id);
    RETURN TRUE;
END
$$;

-- Many attempts' outcomes in one call (each as hookyard_record_attempt; one result each,
-- in input order). They are applied in event order: concurrent groups then take event
-- row locks in one order, and two of them cannot deadlock.
CREATE FUNCTION hookyard_record_attempts(
    p_worker_id        TEXT[],
    p_status           TEXT[],
    p_dispatch_id      TEXT[],
    p_number           INTEGER[],
    p_started_us       BIGINT[],
    p_latency_ms       DOUBLE PRECISION[],
    p_status_code      INTEGER[],
    p_response_headers TEXT[],
    p_response_excerpt BYTEA[],
    p_error_class      TEXT[],
    p_error_message    TEXT[],
    p_decision         TEXT[],
    p_next_attempt_us  BIGINT[],
    p_processed_destination TEXT[],
    p_processed_key    TEXT[]
) RETURNS BOOLEAN[]
LANGUAGE plpgsql AS $$
DECLARE
    v_kept BOOLEAN[] := array_fill(FALSE, ARRAY[cardinality(p_dispatch_id)]);
    v_index BIGINT;
BEGIN
    FOR v_index IN
        SELECT u.ord FROM unnest(p_dispatch_id) WITH ORDINALITY AS u(id, ord)
        LEFT JOIN dispatches d ON d.id = u.id
        ORDER BY d.event_id, u.ord
    LOOP
        v_kept[v_index] := hookyard_record_attempt(
            p_worker_id[v_index], p_status[v_index], p_dispatch_id[v_index],
            p_number[v_index], p_started_us[v_index], p_latency_ms[v_index],
            p_status_code[v_index], p_response_headers[v_index],
            p_response_excerpt[v_index], p_error_class[v_index], p_error_message[v_index],
            p_decision[v_index], p_next_attempt_us[v_index],
            p_processed_destination[v_index], p_processed_key[v_index]
        );
    END LOOP;
    RETURN v_kept;
END
$$;
