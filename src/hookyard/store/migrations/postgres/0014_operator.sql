-- Operator controls: a destination is active, paused (by an operator) or disabled (by a
-- 410), for every process; the workers report its circuit and last outcomes here (on
-- transitions and once a second, never per attempt). ``disabled`` stays in step with
-- ``state`` for readers of the old column.
ALTER TABLE destination_state ADD COLUMN state TEXT NOT NULL DEFAULT 'active';
UPDATE destination_state SET state = 'disabled' WHERE disabled;
ALTER TABLE destination_state ADD COLUMN circuit TEXT NOT NULL DEFAULT 'closed';
ALTER TABLE destination_state ADD COLUMN circuit_until_us BIGINT;
ALTER TABLE destination_state ADD COLUMN last_success_us BIGINT;
ALTER TABLE destination_state ADD COLUMN last_error_us BIGINT;
ALTER TABLE destination_state ADD COLUMN last_error TEXT;

-- The audit trail: every state-changing operator action. Ids are time-ordered (newest
-- first is the primary key backwards).
CREATE TABLE audit_log (
    id      TEXT PRIMARY KEY,
    at_us   BIGINT NOT NULL,
    actor   TEXT NOT NULL,
    action  TEXT NOT NULL,
    target  TEXT NOT NULL,
    count   INTEGER NOT NULL DEFAULT 0,
    detail  TEXT NOT NULL DEFAULT '{}'
);

-- A dispatch held by a paused destination is "paused"; an event whose only owed
-- deliveries are paused shows that (after "disabled", before "pending").
CREATE OR REPLACE FUNCTION hookyard_refresh_event_status(p_event_id TEXT) RETURNS VOID
LANGUAGE plpgsql AS $$
DECLARE
    v_status TEXT;
BEGIN
    PERFORM 1 FROM event_status WHERE event_id = p_event_id FOR NO KEY UPDATE;
    SELECT CASE
        WHEN count(*) FILTER (WHERE status = 'dead') > 0 THEN 'dead'
        WHEN count(*) FILTER (WHERE status IN ('retrying', 'in_flight')) > 0 THEN 'retrying'
        WHEN count(*) FILTER (WHERE status = 'disabled') > 0 THEN 'disabled'
        WHEN count(*) FILTER (WHERE status = 'paused') > 0 THEN 'paused'
        WHEN count(*) FILTER (WHERE status = 'pending') > 0 THEN 'pending'
        WHEN count(*) FILTER (WHERE status = 'delivered') > 0 THEN 'delivered'
        ELSE 'dry_run'
    END INTO v_status
    FROM dispatches WHERE event_id = p_event_id;
    UPDATE event_status SET status = v_status
    WHERE event_id = p_event_id AND status IS DISTINCT FROM v_status;
END
$$;
