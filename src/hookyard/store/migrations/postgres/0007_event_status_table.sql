-- An event's delivery status moves out of the event row into a narrow table of its own.
-- The event row is wide (headers and body inline) and carries five indexes; every status
-- change rewrote all of it and added an entry to each index, which was more than half of
-- what recording an attempt cost. The event row is now written once, at ingest (and on
-- the rare duplicate count).
CREATE TABLE event_status (
    event_id TEXT PRIMARY KEY,
    status   TEXT NOT NULL
);
INSERT INTO event_status (event_id, status) SELECT id, status FROM events;
CREATE INDEX event_status_status ON event_status (status, event_id);
DROP INDEX events_status;
ALTER TABLE events DROP COLUMN status;

-- The status row is locked first, in its own statement: two dispatches of one event
-- finishing together would otherwise each see the other still in flight and both store
-- "retrying" (write skew); the second now waits for the first and then reads a snapshot
-- that includes it. An unchanged status is not written again.
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
        WHEN count(*) FILTER (WHERE status = 'pending') > 0 THEN 'pending'
        WHEN count(*) FILTER (WHERE status = 'delivered') > 0 THEN 'delivered'
        ELSE 'dry_run'
    END INTO v_status
    FROM dispatches WHERE event_id = p_event_id;
    UPDATE event_status SET status = v_status
    WHERE event_id = p_event_id AND status IS DISTINCT FROM v_status;
END
$$;
