-- Named statements for the SQLite backend. Placeholders are positional (?).

-- name: dedup_owners
-- (VALUES_LIST) is replaced by one (?, ?) pair per key of the batch.
SELECT source, provider_event_id, event_id, expires_us
FROM dedup_keys
WHERE (source, provider_event_id) IN (VALUES_LIST);

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
    secret_index, provider_event_id, event_type, status, duplicate_count
) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?);

-- name: insert_dispatch
INSERT INTO dispatches (id, event_id, destination, status, next_attempt_us, created_us, updated_us)
VALUES (?, ?, ?, 'pending', ?, ?, ?);

-- name: get_event
SELECT id, source, received_us, method, path, body_size, body_sha256, content_type, verdict,
       verdict_reason, provider_event_id, event_type, status, duplicate_count,
       remote_addr, query_string, headers, secret_index, last_duplicate_us, verdict_detail
FROM events WHERE id = ?;

-- name: get_body
SELECT body, content_type FROM events WHERE id = ?;

-- name: count_events
SELECT count(*) FROM events;

-- name: event_dispatches
SELECT id, event_id, destination, status, attempts, next_attempt_us, created_us, updated_us,
       replay_of, batch_id
FROM dispatches WHERE event_id = ? ORDER BY id;

-- name: dispatch_attempts
SELECT dispatch_id, number, started_us, latency_ms, status_code, response_headers,
       response_excerpt, error_class, error_message, decision, next_attempt_us
FROM attempts WHERE dispatch_id = ? ORDER BY number;
