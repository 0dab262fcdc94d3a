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
        $20::int[], $21::text[], $22::bigint[], $27::text[]
    ) AS t(id, source, received_us, remote_addr, method, path, query_string, headers, body,
           body_sha256, body_size, content_type, verdict, verdict_reason, verdict_detail,
           secret_index, provider_event_id, event_type, status, duplicate_count,
           dedup_key, expires_us, key_id)
),
claimed AS (
    INSERT INTO dedup_keys (source, provider_event_id, event_id, first_seen_us, expires_us)
    SELECT source, dedup_key, id, received_us, expires_us FROM input WHERE dedup_key IS NOT NULL
    -- In key order: two writers claiming the same keys wait for each other, never in a cycle.
    ORDER BY source, dedup_key
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
        secret_index, provider_event_id, event_type, key_id
    )
    SELECT id, source, received_us, remote_addr, method, path, query_string, headers, body,
           body_sha256, body_size, content_type, verdict, verdict_reason, verdict_detail,
           secret_index, provider_event_id, event_type, key_id
    FROM kept
    RETURNING id
),
statused AS (
    -- Runs although nothing reads it: a data-modifying CTE always runs to completion.
    INSERT INTO event_status (event_id, status, duplicate_count)
    SELECT id, status, duplicate_count FROM kept
),
dispatched AS (
    INSERT INTO dispatches (id, event_id, destination, status, next_attempt_us, created_us, updated_us)
    SELECT d.id, d.event_id, d.destination, 'pending', k.received_us, k.received_us, k.received_us
    FROM unnest($23::text[], $24::text[], $25::text[]) AS d(id, event_id, destination)
    JOIN kept k ON k.id = d.event_id
    RETURNING event_id
),
repeated AS (
    -- The original is looked up per repeat, by key, and only for repeats: a join with
    -- dedup_keys was planned as a scan of the whole table while it was small, and the
    -- cached plan kept scanning it, on every batch, as it grew.
    SELECT i.received_us, i.duplicate_count,
           (SELECT k.event_id FROM dedup_keys k
            WHERE k.source = i.source AND k.provider_event_id = i.dedup_key) AS original
    FROM input i
    WHERE i.dedup_key IS NOT NULL AND i.id NOT IN (SELECT event_id FROM claimed)
),
repeats AS (
    -- Counted in the narrow status row, in id order (migration 0010).
    SELECT hookyard_count_repeats(
        array_agg(original), array_agg(1 + duplicate_count), array_agg(received_us)
    ) AS counted
    FROM repeated WHERE original IS NOT NULL
),
notified AS (
    -- Wakes workers on every machine at commit, when there is something to deliver: in
    -- this statement rather than a round trip of its own.
    SELECT pg_notify($26, '') FROM (SELECT 1 FROM dispatched LIMIT 1) AS any_dispatch
    UNION ALL
    -- The live stream's wake-up (issue 19): one per statement that stored an event.
    SELECT pg_notify($28, '') FROM (SELECT 1 FROM inserted LIMIT 1) AS any_event
)
SELECT s.id, s.stored,
       CASE WHEN NOT s.stored THEN (
           SELECT k.event_id FROM dedup_keys k
           WHERE k.source = s.source AND k.provider_event_id = s.dedup_key
       ) END AS original
FROM (
    SELECT i.id, i.source, i.dedup_key,
           (i.dedup_key IS NULL OR i.id IN (SELECT event_id FROM claimed)) AS stored
    FROM input i
) AS s
-- A CTE that only reads (or calls a function) runs when something reads it.
WHERE (SELECT count(*) FROM notified) >= 0 AND (SELECT count(*) FROM repeats) >= 0;

-- name: dedup_owner
SELECT event_id FROM dedup_keys WHERE source = $1 AND provider_event_id = $2;

-- name: count_duplicates
UPDATE event_status SET duplicate_count = duplicate_count + $1, last_duplicate_us = $2
WHERE event_id = $3;

-- name: get_event
SELECT id, source, received_us, method, path, body_size, body_sha256, content_type, verdict,
       verdict_reason, provider_event_id, event_type, status, duplicate_count,
       remote_addr, query_string, headers, secret_index, last_duplicate_us, verdict_detail,
       key_id
FROM events JOIN event_status ON event_id = id WHERE id = $1;

-- name: get_body
SELECT body, content_type, key_id FROM events WHERE id = $1;

-- name: count_events
SELECT count(*) FROM events;

-- name: event_dispatches
SELECT id, event_id, destination, status, attempts, next_attempt_us, created_us, updated_us,
       replay_of, batch_id
FROM dispatches WHERE event_id = $1 ORDER BY id;

-- name: attempts_of_dispatches
-- The attempts of a page of dispatches in one statement (rows.attach_attempts pairs them).
SELECT dispatch_id, number, started_us, latency_ms, status_code, response_headers,
       response_excerpt, error_class, error_message, decision, next_attempt_us
FROM attempts WHERE dispatch_id = ANY($1::text[]) ORDER BY dispatch_id, number;

-- name: claim_due
-- SKIP LOCKED lets many workers on many machines claim side by side without waiting.
-- Per destination and state, one scan of dispatches_claim in due order that stops at the
-- limit. An OR across states, or ANY across destinations, made PostgreSQL fetch and sort
-- every due row (and the stale index entries of rows already claimed) on every claim.
WITH wanted AS (
    -- A paused or disabled destination (shared by every process) is never claimed.
    SELECT unnest($4::text[]) AS destination
    EXCEPT SELECT name FROM destination_state WHERE state <> 'active'
),
pending AS (
    SELECT p.id, p.next_attempt_us FROM wanted CROSS JOIN LATERAL (
        SELECT id, next_attempt_us FROM dispatches
        WHERE destination = wanted.destination AND status = 'pending' AND next_attempt_us <= $3
        ORDER BY next_attempt_us LIMIT $5
        FOR UPDATE SKIP LOCKED
    ) AS p
),
retrying AS (
    SELECT r.id, r.next_attempt_us FROM wanted CROSS JOIN LATERAL (
        SELECT id, next_attempt_us FROM dispatches
        WHERE destination = wanted.destination AND status = 'retrying' AND next_attempt_us <= $3
        ORDER BY next_attempt_us LIMIT $5
        FOR UPDATE SKIP LOCKED
    ) AS r
),
due AS (
    (SELECT id FROM pending ORDER BY next_attempt_us LIMIT $5)
    UNION ALL (SELECT id FROM retrying ORDER BY next_attempt_us LIMIT $5)
    LIMIT $5
),
claimed AS (
    UPDATE dispatches d
    SET status = 'in_flight', lease_owner = $1, lease_expires_us = $2, updated_us = $3
    FROM due WHERE d.id = due.id
    RETURNING d.id, d.destination, d.attempts, d.replay_of, d.batch_id, d.event_id
)
SELECT c.id, c.destination, c.attempts, c.replay_of, c.batch_id, e.id, e.source, e.event_type,
       e.provider_event_id, e.content_type, e.headers, e.body, e.received_us, e.key_id
FROM claimed c JOIN events e ON e.id = c.event_id;

-- name: record_attempt
-- One round trip for the whole outcome (migration 0005): dispatch, attempt, processed
-- key, event status.
SELECT hookyard_record_attempt($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15);

-- name: record_attempts
-- The same for a group, one array per argument above; a result per attempt, in order.
SELECT hookyard_record_attempts($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15);

-- name: refresh_event_status
SELECT hookyard_refresh_event_status($1);

-- name: release_leases
UPDATE dispatches
SET status = CASE WHEN attempts = 0 THEN 'pending' ELSE 'retrying' END,
    lease_owner = NULL, lease_expires_us = NULL, next_attempt_us = $1, updated_us = $1
WHERE lease_owner = $2 AND status = 'in_flight';

-- name: insert_processed_key
INSERT INTO processed_keys (destination, key, event_id, processed_us) VALUES ($1, $2, $3, $4)
ON CONFLICT (destination, key) DO NOTHING;

-- name: is_processed
SELECT 1 FROM processed_keys WHERE destination = $1 AND key = $2;

-- name: retry_dead
UPDATE dispatches SET status = 'retrying', next_attempt_us = $1, updated_us = $1
WHERE id = ANY($2::text[]) AND status = 'dead'
RETURNING event_id;

-- name: postpone
UPDATE dispatches
SET status = CASE WHEN attempts = 0 THEN 'pending' ELSE 'retrying' END,
    lease_owner = NULL, lease_expires_us = NULL, next_attempt_us = $1, updated_us = $2
WHERE id = $3 AND lease_owner = $4;

-- name: insert_replay_batch
INSERT INTO replay_batches (id, created_us, filter, target, total, status, delivered, failed,
                            skipped, updated_us, finished_us, options, error)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13);

-- name: get_replay_batch
SELECT id, created_us, filter, target, total, status, delivered, failed, skipped, updated_us,
       finished_us, options, error
FROM replay_batches WHERE id = $1;

-- name: count_replay_results
UPDATE replay_batches
SET delivered = delivered + $1, failed = failed + $2, skipped = skipped + $3, updated_us = $4
WHERE id = $5;

-- name: finish_replay_batch
-- Only a running batch finishes; the first ending (done, cancelled, failed) is kept.
UPDATE replay_batches SET status = $1, finished_us = $2, updated_us = $3, error = $4
WHERE id = $5 AND status = 'running';

-- name: insert_replay_dispatches
-- Replayed deliveries, one array per column: linked to the original (event_id = replay_of)
-- and to their batch. Attempted once, so never claimed by a worker.
INSERT INTO dispatches (id, event_id, destination, status, attempts, created_us, updated_us,
                        replay_of, batch_id, last_status_code)
SELECT t.id, t.event_id, t.destination, t.status, 1, t.created_us, $7, t.event_id, $8,
       t.status_code
FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::bigint[], $6::int[])
     AS t(id, event_id, destination, status, created_us, status_code);

-- name: insert_replay_attempts
INSERT INTO attempts (dispatch_id, number, started_us, latency_ms, status_code, response_headers,
                      response_excerpt, error_class, error_message, decision, next_attempt_us)
SELECT * FROM unnest($1::text[], $2::int[], $3::bigint[], $4::float8[], $5::int[], $6::text[],
                     $7::bytea[], $8::text[], $9::text[], $10::text[], $11::bigint[]);

-- name: replay_payloads
SELECT id, source, received_us, event_type, provider_event_id, content_type, headers, body,
       key_id
FROM events WHERE id = ANY($1::text[]) ORDER BY id;

-- name: known_event_ids
SELECT id FROM events WHERE id = ANY($1::text[]);

-- name: replay_batch_dispatches
SELECT id, event_id, destination, status, attempts, next_attempt_us, created_us, updated_us,
       replay_of, batch_id
FROM dispatches WHERE batch_id = $1 AND status = $2 ORDER BY id LIMIT $3;
