-- Named statements for the PostgreSQL backend. Placeholders are $N.

-- name: write_batch
-- One statement per group commit: atomic without BEGIN/COMMIT round trips.
-- Claims dedup keys, inserts the events that own theirs (or have none), writes one
-- dispatch per routed destination, and counts repeats on the original events.
WITH input AS (
    SELECT * FROM unnest(
        $1::text[], $2::text[], $3::bigint[], $4::text[], $5::text[], $6::text[], $7::bytea[],
        $8::bytea[], $9::bytea[], $10::text[], $11::int[], $12::text[], $13::text[],
        $14::text[], $15::text[], $16::int[], $17::text[], $18::text[], $19::text[],
        $20::int[], $21::text[], $22::bigint[]
    ) AS t(id, source, received_us, remote_addr, method, path, query_string, headers, body,
           body_sha256, body_size, content_type, verdict, verdict_reason, verdict_detail,
           secret_index, provider_event_id, event_type, status, duplicate_count,
           dedup_key, expires_us)
),
claimed AS (
    INSERT INTO dedup_keys (source, provider_event_id, event_id, first_seen_us, expires_us)
    SELECT source, dedup_key, id, received_us, expires_us FROM input WHERE dedup_key IS NOT NULL
    ON CONFLICT (source, provider_event_id) DO UPDATE
        SET event_id = excluded.event_id,
            first_seen_us = excluded.first_seen_us,
            expires_us = excluded.expires_us
        WHERE dedup_keys.expires_us <= excluded.first_seen_us
    RETURNING event_id
),
kept AS (
    SELECT * FROM input WHERE dedup_key IS NULL OR id IN (SELECT event_id FROM claimed)
),
inserted AS (
    INSERT INTO events (
        id, source, received_us, remote_addr, method, path, query_string, headers, body,
        body_sha256, body_size, content_type, verdict, verdict_reason, verdict_detail,
        secret_index, provider_event_id, event_type, status, duplicate_count
    )
    SELECT id, source, received_us, remote_addr, method, path, query_string, headers, body,
           body_sha256, body_size, content_type, verdict, verdict_reason, verdict_detail,
           secret_index, provider_event_id, event_type, status, duplicate_count
    FROM kept
    RETURNING id
),
dispatched AS (
    INSERT INTO dispatches (id, event_id, destination, status, next_attempt_us, created_us, updated_us)
    SELECT d.id, d.event_id, d.destination, 'pending', k.received_us, k.received_us, k.received_us
    FROM unnest($23::text[], $24::text[], $25::text[]) AS d(id, event_id, destination)
    JOIN kept k ON k.id = d.event_id
    RETURNING event_id
),
repeats AS (
    UPDATE events e
    SET duplicate_count = e.duplicate_count + 1 + i.duplicate_count,
        last_duplicate_us = i.received_us
    FROM input i
    JOIN dedup_keys k ON k.source = i.source AND k.provider_event_id = i.dedup_key
    WHERE i.dedup_key IS NOT NULL
      AND i.id NOT IN (SELECT event_id FROM claimed)
      AND e.id = k.event_id
    RETURNING e.id
)
SELECT i.id,
       (i.dedup_key IS NULL OR i.id IN (SELECT event_id FROM claimed)) AS stored,
       k.event_id AS original
FROM input i
LEFT JOIN dedup_keys k ON k.source = i.source AND k.provider_event_id = i.dedup_key;

-- name: dedup_owner
SELECT event_id FROM dedup_keys WHERE source = $1 AND provider_event_id = $2;

-- name: count_duplicates
UPDATE events SET duplicate_count = duplicate_count + $1, last_duplicate_us = $2 WHERE id = $3;

-- name: get_event
SELECT id, source, received_us, method, path, body_size, body_sha256, content_type, verdict,
       verdict_reason, provider_event_id, event_type, status, duplicate_count,
       remote_addr, query_string, headers, secret_index, last_duplicate_us, verdict_detail
FROM events WHERE id = $1;

-- name: get_body
SELECT body, content_type FROM events WHERE id = $1;

-- name: count_events
SELECT count(*) FROM events;

-- name: event_dispatches
SELECT id, event_id, destination, status, attempts, next_attempt_us, created_us, updated_us,
       replay_of, batch_id
FROM dispatches WHERE event_id = $1 ORDER BY id;

-- name: dispatch_attempts
SELECT dispatch_id, number, started_us, latency_ms, status_code, response_headers,
       response_excerpt, error_class, error_message, decision, next_attempt_us
FROM attempts WHERE dispatch_id = $1 ORDER BY number;
