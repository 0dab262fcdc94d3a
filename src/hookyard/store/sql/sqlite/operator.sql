-- Named statements for operator controls: destination state, the audit trail, the list of
-- replay batches.

-- name: set_destination_mode
-- active, paused or disabled, with why and when; ``disabled`` kept in step for old readers.
INSERT INTO destination_state (name, state, disabled, reason, updated_us) VALUES (?, ?, ?, ?, ?)
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
UPDATE dispatches SET status = :state, updated_us = :now
WHERE destination = :name AND status IN ('pending', 'retrying')
  AND EXISTS (SELECT 1 FROM destination_state WHERE name = :name AND state = :state)
RETURNING event_id;

-- name: release_held
-- Resumed or re-enabled: every held dispatch is due now, its attempts kept.
UPDATE dispatches
SET status = CASE WHEN attempts = 0 THEN 'pending' ELSE 'retrying' END,
    next_attempt_us = ?, updated_us = ?
WHERE destination = ? AND status IN ('paused', 'disabled')
RETURNING event_id;

-- name: note_destination_activity
-- A worker's report: the newest success and error win, whichever process reports first;
-- a NULL circuit leaves the circuit as it was.
INSERT INTO destination_state (name, updated_us, circuit, circuit_until_us, last_success_us,
                               last_error_us, last_error)
VALUES (:name, :now, coalesce(:circuit, 'closed'), :until, :success, :error_at, :error)
ON CONFLICT (name) DO UPDATE SET
    circuit = coalesce(:circuit, circuit),
    circuit_until_us = CASE WHEN :circuit IS NULL THEN circuit_until_us ELSE :until END,
    last_success_us = CASE
        WHEN :success IS NOT NULL AND (last_success_us IS NULL OR :success > last_success_us)
        THEN :success ELSE last_success_us END,
    last_error = CASE
        WHEN :error_at IS NOT NULL AND (last_error_us IS NULL OR :error_at > last_error_us)
        THEN :error ELSE last_error END,
    last_error_us = CASE
        WHEN :error_at IS NOT NULL AND (last_error_us IS NULL OR :error_at > last_error_us)
        THEN :error_at ELSE last_error_us END;

-- name: destination_backlog
-- Dispatches still owed, per destination and status. A GROUP BY over the statuses read
-- the whole (destination, status) index (two million entries at a million events); here
-- the names are found by skipping through that index, one step per destination, and each
-- (destination, status) pair is counted from its own range of it.
WITH RECURSIVE names(name) AS (
    SELECT min(destination) FROM dispatches
    UNION ALL
    SELECT (SELECT min(destination) FROM dispatches WHERE destination > names.name)
    FROM names WHERE names.name IS NOT NULL
),
statuses(status) AS (
    VALUES ('pending'), ('retrying'), ('in_flight'), ('paused'), ('disabled')
)
SELECT name, status, owed FROM (
    SELECT names.name AS name, statuses.status AS status,
           (SELECT count(*) FROM dispatches d
            WHERE d.destination = names.name AND d.status = statuses.status) AS owed
    FROM names, statuses WHERE names.name IS NOT NULL
) WHERE owed > 0;

-- name: destination_outcomes
-- Attempts per destination since a time: answered 2xx, and every other (the Destinations
-- page's last hour; a range of attempts_started, joined to its dispatches).
SELECT d.destination,
       sum(CASE WHEN a.status_code BETWEEN 200 AND 299 THEN 1 ELSE 0 END),
       sum(CASE WHEN a.status_code BETWEEN 200 AND 299 THEN 0 ELSE 1 END)
FROM attempts a JOIN dispatches d ON d.id = a.dispatch_id
WHERE a.started_us >= :since
GROUP BY d.destination;

-- name: insert_audit
INSERT INTO audit_log (id, at_us, actor, action, target, count, detail)
VALUES (?, ?, ?, ?, ?, ?, ?);

-- name: list_audit
SELECT id, at_us, actor, action, target, count, detail FROM audit_log
WHERE (:action IS NULL OR action = :action)
  AND (:since IS NULL OR at_us >= :since)
  AND (:cursor IS NULL OR id < :cursor)
ORDER BY id DESC LIMIT :limit;

-- name: list_replay_batches
SELECT id, created_us, filter, target, total, status, delivered, failed, skipped, updated_us,
       finished_us, options, error
FROM replay_batches WHERE (:cursor IS NULL OR id < :cursor)
ORDER BY id DESC LIMIT :limit;

-- name: renew_leases
-- A live worker extends what it holds, once a second: a lease only runs out when its
-- worker stopped (crashed, killed, hung), and then soon.
UPDATE dispatches SET lease_expires_us = :expires
WHERE lease_owner = :owner AND status = 'in_flight';

-- name: lost_attempts
-- The attempt a stopped worker made (or was about to make) is recorded as one: its
-- outcome is unknown, and the redelivery carries the next attempt number.
INSERT INTO attempts (dispatch_id, number, started_us, latency_ms, status_code,
                      response_headers, response_excerpt, error_class, error_message,
                      decision, next_attempt_us)
SELECT id, attempts + 1, :now, 0, NULL, '[]', X'', 'LeaseExpired',
       'the worker that claimed it stopped before recording an outcome (it may have sent it)',
       'retry: lease expired, outcome unknown', :now
FROM dispatches WHERE status = 'in_flight' AND lease_expires_us < :now;

-- name: expire_leases
UPDATE dispatches
SET status = 'retrying', attempts = attempts + 1, next_attempt_us = :now,
    lease_owner = NULL, lease_expires_us = NULL, updated_us = :now
WHERE status = 'in_flight' AND lease_expires_us < :now;
