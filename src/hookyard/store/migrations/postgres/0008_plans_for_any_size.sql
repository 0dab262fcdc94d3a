-- Plans that stay right as the tables grow. A statement's plan is cached per connection,
-- made from the table sizes of the moment: a join with dispatches planned while it held a
-- few hundred rows read the whole table, on every call, until statistics were next
-- gathered (autovacuum looks once a minute).
-- Looking a dispatch up by its key, per attempt, is one index probe at any size.

-- As in migration 0005, except for the order's lookup.
CREATE OR REPLACE FUNCTION hookyard_record_attempts(
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
        ORDER BY (SELECT d.event_id FROM dispatches d WHERE d.id = u.id), u.ord
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
