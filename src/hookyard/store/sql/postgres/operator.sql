-- Named statements for operator controls: destination state, the audit trail, the list of
-- replay batches.

-- name: set_destination_mode
-- active, paused or disabled, with why and when; ``disabled`` kept in step for old readers.
INSERT INTO destination_state (name, state, disabled, reason, updated_us) VALUES ($1, $2, $3, $4, $5)
ON CONFLICT (name) DO UPDATE
    SET state = excluded.state, disabled = excluded.disabled, reason = excluded.reason,
        updated_us = excluded.updated_us;

-- name: destination_states
SELECT name, state, reason, updated_us, circuit, circuit_until_us, last_success_us,
       last_error_us, last_error
FROM destination_state ORDER BY name;

-- name: disabled_destinations
SELECT name, reason FROM destination_state WHERE state = 'disabled';

-- name: hold_dispatches
-- A paused or disabled destination's owed dispatches show its state, not "pending".
-- Only while it still is in that state: a worker that read it paused must not hold
-- what an operator released since.
UPDATE dispatches SET status = $1, updated_us = $2
WHERE destination = $3 AND status IN ('pending', 'retrying')
  AND EXISTS (SELECT 1 FROM destination_state WHERE name = $3 AND state = $1)
RETURNING event_id;

-- name: release_held
-- Resumed or re-enabled: every held dispatch is due now, its attempts kept.
UPDATE dispatches
SET status = CASE WHEN attempts = 0 THEN 'pending' ELSE 'retrying' END,
    next_attempt_us = $1, updated_us = $2
WHERE destination = $3 AND status IN ('paused', 'disabled')
RETURNING event_id;

-- name: note_destination_activity
-- A worker's report: the newest success and error win, whichever process reports first;
-- a NULL circuit leaves the circuit as it was.
INSERT INTO destination_state AS s (name, updated_us, circuit, circuit_until_us,
                                    last_success_us, last_error_us, last_error)
VALUES ($1, $2, coalesce($3::text, 'closed'), $4::bigint, $5::bigint, $6::bigint, $7::text)
ON CONFLICT (name) DO UPDATE SET
    circuit = coalesce($3::text, s.circuit),
    circuit_until_us = CASE WHEN $3::text IS NULL THEN s.circuit_until_us ELSE $4::bigint END,
    last_success_us = GREATEST(s.last_success_us, $5::bigint),
    last_error = CASE
        WHEN $6::bigint IS NOT NULL AND (s.last_error_us IS NULL OR $6::bigint > s.last_error_us)
        THEN $7::text ELSE s.last_error END,
    last_error_us = GREATEST(s.last_error_us, $6::bigint);

-- name: destination_backlog
-- Dispatches still owed, per destination and status. A GROUP BY over the statuses read
-- the whole (destination, status) index (two million entries at a million events); here
-- the names are found by skipping through that index, one step per destination, and each
-- (destination, status) pair is counted from its own range of it.
WITH RECURSIVE names(name) AS (
    SELECT min(destination) FROM dispatches
    UNION ALL
    SELECT (SELECT min(destination) FROM dispatches WHERE destination > n.name)
    FROM names n WHERE n.name IS NOT NULL
)
SELECT n.name, s.status, c.owed
FROM names n
CROSS JOIN unnest(ARRAY['pending', 'retrying', 'in_flight', 'paused', 'disabled']) AS s(status)
CROSS JOIN LATERAL (
    SELECT count(*)::int AS owed FROM dispatches d
    WHERE d.destination = n.name AND d.status = s.status
) c
WHERE n.name IS NOT NULL AND c.owed > 0;

-- name: destination_outcomes
-- Attempts per destination since a time: answered 2xx, and every other (the Destinations
-- page's last hour; a range of attempts_started, joined to its dispatches).
SELECT d.destination,
       count(*) FILTER (WHERE a.status_code BETWEEN 200 AND 299)::int,
       count(*) FILTER (WHERE a.status_code IS NULL OR a.status_code NOT BETWEEN 200 AND 299)::int
FROM attempts a JOIN dispatches d ON d.id = a.dispatch_id
WHERE a.started_us >= $1
GROUP BY d.destination;

-- name: insert_audit
INSERT INTO audit_log (id, at_us, actor, action, target, count, detail)
VALUES ($1, $2, $3, $4, $5, $6, $7);

-- name: list_audit
SELECT id, at_us, actor, action, target, count, detail FROM audit_log
WHERE ($1::text IS NULL OR action = $1::text)
  AND ($2::bigint IS NULL OR at_us >= $2::bigint)
  AND ($3::text IS NULL OR id < $3::text)
ORDER BY id DESC LIMIT $4;

-- name: list_replay_batches
SELECT id, created_us, filter, target, total, status, delivered, failed, skipped, updated_us,
       finished_us, options, error
FROM replay_batches WHERE ($1::text IS NULL OR id < $1::text)
ORDER BY id DESC LIMIT $2;

-- name: renew_leases
-- A live worker extends what it holds, once a second: a lease only runs out when its
-- worker stopped (crashed, killed, hung), and then soon.
UPDATE dispatches SET lease_expires_us = $1
WHERE lease_owner = $2 AND status = 'in_flight';

-- name: expire_leases
-- The attempt a stopped worker made (or was about to make) is recorded as one: its
-- outcome is unknown, and the redelivery carries the next attempt number.
WITH lost AS (
    UPDATE dispatches
    SET status = 'retrying', attempts = attempts + 1, next_attempt_us = $1,
        lease_owner = NULL, lease_expires_us = NULL, updated_us = $1
    WHERE id IN (
        SELECT id FROM dispatches WHERE status = 'in_flight' AND lease_expires_us < $1
        FOR UPDATE SKIP LOCKED
    )
    RETURNING id, attempts
)
INSERT INTO attempts (dispatch_id, number, started_us, latency_ms, status_code,
                      response_headers, response_excerpt, error_class, error_message,
                      decision, next_attempt_us)
SELECT id, attempts, $1, 0, NULL, '[]', ''::bytea, 'LeaseExpired',
       'the worker that claimed it stopped before recording an outcome (it may have sent it)',
       'retry: lease expired, outcome unknown', $1
FROM lost;
