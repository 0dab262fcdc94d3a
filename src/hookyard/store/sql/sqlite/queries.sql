-- Named statements for the SQLite backend. Placeholders are positional (?).

-- name: dedup_owners
-- (VALUES_LIST) is replaced by one (?, ?) pair per key of the batch. A row-value
-- IN (VALUES ...) would scan the whole table; the CROSS JOIN fixes the loop order so
-- every key is one primary-key search (tests/integration/test_query_plans.py).
WITH batch(source, provider_event_id) AS (VALUES_LIST)
SELECT d.source, d.provider_event_id, d.event_id, d.expires_us
FROM batch CROSS JOIN dedup_keys AS d
    ON d.source = batch.source AND d.provider_event_id = batch.provider_event_id;

-- name: insert_dedup_key
INSERT INTO dedup_keys (source, provider_event_id, event_id, first_seen_us, expires_us)
VALUES (?, ?, ?, ?, ?);

-- name: take_over_dedup_key
-- The previous owner's window has passed: the key now belongs to the new event.
UPDATE dedup_keys SET event_id = ?, first_seen_us = ?, expires_us = ?
WHERE source = ? AND provider_event_id = ?;

-- name: count_duplicates
UPDATE events
SET duplicate_count = duplicate_count + ?, last_duplicate_us = ?
WHERE id = ?;

-- name: insert_event
INSERT INTO events (
    id, source, received_us, remote_addr, method, path, query_string, headers, body,
    body_sha256, body_size, content_type, verdict, verdict_reason, verdict_detail,
    secret_index, provider_event_id, event_type, status, duplicate_count, key_id
) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?);

-- name: insert_dispatch
INSERT INTO dispatches (id, event_id, destination, status, next_attempt_us, created_us, updated_us)
VALUES (?, ?, ?, 'pending', ?, ?, ?);

-- name: get_event
SELECT id, source, received_us, method, path, body_size, body_sha256, content_type, verdict,
       verdict_reason, provider_event_id, event_type, status, duplicate_count,
       remote_addr, query_string, headers, secret_index, last_duplicate_us, verdict_detail,
       key_id
FROM events WHERE id = ?;

-- name: get_body
SELECT body, content_type, key_id FROM events WHERE id = ?;

-- name: count_events
SELECT count(*) FROM events;

-- name: event_dispatches
SELECT id, event_id, destination, status, attempts, next_attempt_us, created_us, updated_us,
       replay_of, batch_id
FROM dispatches WHERE event_id = ? ORDER BY id;

-- name: attempts_of_dispatches
-- The attempts of a page of dispatches in one statement (rows.attach_attempts pairs them).
SELECT dispatch_id, number, started_us, latency_ms, status_code, response_headers,
       response_excerpt, error_class, error_message, decision, next_attempt_us
FROM attempts WHERE dispatch_id IN (SELECT value FROM json_each(?)) ORDER BY dispatch_id, number;

-- name: claim_due
-- Due dispatches (a stopped worker's run-out leases are made due by expire_leases).
-- One index-ordered query per state: an OR across states made SQLite sort every due row.
-- A paused or disabled destination (destination_state, shared by every process) is
-- never claimed, whatever the worker believes.
WITH wanted(name) AS (
    SELECT value FROM json_each(:names)
    WHERE value NOT IN (SELECT name FROM destination_state WHERE state <> 'active')
)
UPDATE dispatches
SET status = 'in_flight', lease_owner = :owner, lease_expires_us = :expires, updated_us = :now
WHERE id IN (
    SELECT id FROM (
        SELECT id, next_attempt_us FROM dispatches
        WHERE status = 'pending' AND next_attempt_us <= :now
          AND destination IN (SELECT name FROM wanted)
        ORDER BY next_attempt_us LIMIT :limit
    )
    UNION ALL
    SELECT id FROM (
        SELECT id, next_attempt_us FROM dispatches
        WHERE status = 'retrying' AND next_attempt_us <= :now
          AND destination IN (SELECT name FROM wanted)
        ORDER BY next_attempt_us LIMIT :limit
    )
    LIMIT :limit
)
RETURNING id;

-- name: claimed_rows
SELECT d.id, d.destination, d.attempts, d.replay_of, d.batch_id, e.id, e.source, e.event_type,
       e.provider_event_id, e.content_type, e.headers, e.body, e.received_us, e.key_id
FROM dispatches d JOIN events e ON e.id = d.event_id
WHERE d.id IN (SELECT value FROM json_each(?));

-- name: insert_attempt
INSERT INTO attempts (dispatch_id, number, started_us, latency_ms, status_code, response_headers,
                      response_excerpt, error_class, error_message, decision, next_attempt_us)
VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?);

-- name: finish_attempt
-- Only the lease holder may record; a worker whose lease was taken over records nothing.
UPDATE dispatches
SET status = ?, attempts = attempts + 1, next_attempt_us = ?, last_status_code = ?,
    lease_owner = NULL, lease_expires_us = NULL, updated_us = ?
WHERE id = ? AND lease_owner = ?
RETURNING event_id;

-- name: refresh_event_status
UPDATE events SET status = (
    SELECT CASE
        WHEN count(*) FILTER (WHERE status = 'dead') > 0 THEN 'dead'
        WHEN count(*) FILTER (WHERE status IN ('retrying', 'in_flight')) > 0 THEN 'retrying'
        WHEN count(*) FILTER (WHERE status = 'disabled') > 0 THEN 'disabled'
        WHEN count(*) FILTER (WHERE status = 'paused') > 0 THEN 'paused'
        WHEN count(*) FILTER (WHERE status = 'pending') > 0 THEN 'pending'
        WHEN count(*) FILTER (WHERE status = 'delivered') > 0 THEN 'delivered'
        ELSE 'dry_run'
    END
    FROM dispatches WHERE event_id = ?
)
WHERE id = ?;

-- name: release_leases
UPDATE dispatches
SET status = CASE WHEN attempts = 0 THEN 'pending' ELSE 'retrying' END,
    lease_owner = NULL, lease_expires_us = NULL, next_attempt_us = ?, updated_us = ?
WHERE lease_owner = ? AND status = 'in_flight';

-- name: insert_processed_key
INSERT INTO processed_keys (destination, key, event_id, processed_us) VALUES (?, ?, ?, ?)
ON CONFLICT (destination, key) DO NOTHING;

-- name: is_processed
SELECT 1 FROM processed_keys WHERE destination = ? AND key = ?;

-- name: retry_dead
UPDATE dispatches SET status = 'retrying', next_attempt_us = ?, updated_us = ?
WHERE id IN (SELECT value FROM json_each(?)) AND status = 'dead'
RETURNING event_id;

-- name: postpone
-- Give a claimed dispatch back without spending an attempt (circuit open, shutting down).
UPDATE dispatches
SET status = CASE WHEN attempts = 0 THEN 'pending' ELSE 'retrying' END,
    lease_owner = NULL, lease_expires_us = NULL, next_attempt_us = ?, updated_us = ?
WHERE id = ? AND lease_owner = ?;

-- name: insert_replay_batch
INSERT INTO replay_batches (id, created_us, filter, target, total, status, delivered, failed,
                            skipped, updated_us, finished_us, options, error)
VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?);

-- name: get_replay_batch
SELECT id, created_us, filter, target, total, status, delivered, failed, skipped, updated_us,
       finished_us, options, error
FROM replay_batches WHERE id = ?;

-- name: count_replay_results
UPDATE replay_batches
SET delivered = delivered + ?, failed = failed + ?, skipped = skipped + ?, updated_us = ?
WHERE id = ?;

-- name: finish_replay_batch
-- Only a running batch finishes; the first ending (done, cancelled, failed) is kept.
UPDATE replay_batches SET status = ?, finished_us = ?, updated_us = ?, error = ?
WHERE id = ? AND status = 'running';

-- name: insert_replay_dispatch
-- A replayed delivery: linked to its original (event_id = replay_of) and to its batch.
INSERT INTO dispatches (id, event_id, destination, status, attempts, next_attempt_us,
                        created_us, updated_us, replay_of, batch_id, last_status_code)
VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?);

-- name: replay_payloads
SELECT id, source, received_us, event_type, provider_event_id, content_type, headers, body,
       key_id
FROM events WHERE id IN (SELECT value FROM json_each(?)) ORDER BY id;

-- name: known_event_ids
SELECT id FROM events WHERE id IN (SELECT value FROM json_each(?));

-- name: replay_batch_dispatches
SELECT id, event_id, destination, status, attempts, next_attempt_us, created_us, updated_us,
       replay_of, batch_id
FROM dispatches WHERE batch_id = ? AND status = ? ORDER BY id LIMIT ?;
