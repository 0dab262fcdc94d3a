-- The mirror lane and its log (hookyard.mirror). Candidates are read by cursor in
-- (received_us, id) order from the receipt-time index; nothing here touches ingest.

-- name: mirror_candidates
SELECT id, source, received_us, event_type, provider_event_id, content_type, headers, body,
       key_id
FROM events
WHERE received_us >= $1 AND received_us <= $3
  AND (received_us, id) > ($1, $2)
  AND verdict <> 'invalid'
  AND source = ANY($4::text[])
ORDER BY received_us, id
LIMIT $5;

-- name: mirror_lane
SELECT mirror, cursor_us, cursor_id, updated_us, counts, lag_us FROM mirror_lanes WHERE mirror = $1;

-- name: lock_mirror_lane
INSERT INTO mirror_lanes (mirror, updated_us) VALUES ($1, $2)
ON CONFLICT (mirror) DO UPDATE SET mirror = excluded.mirror
RETURNING counts;

-- name: save_mirror_lane
UPDATE mirror_lanes SET
    cursor_us = CASE
        WHEN $2::bigint IS NULL THEN cursor_us
        WHEN cursor_us IS NULL OR ($2, $3) > (cursor_us, cursor_id) THEN $2 ELSE cursor_us END,
    cursor_id = CASE
        WHEN $2::bigint IS NULL THEN cursor_id
        WHEN cursor_us IS NULL OR ($2, $3) > (cursor_us, cursor_id) THEN $3 ELSE cursor_id END,
    updated_us = $4,
    counts = $5,
    lag_us = coalesce($6, lag_us)
WHERE mirror = $1;

-- name: insert_mirror_copies
-- One statement per batch, a column array each: a lane copying every event would
-- otherwise cost the server one executor run per row, beside ingest's own inserts.
INSERT INTO mirror_log (mirror, event_id, source, event_type, received_us, sent_us, reason,
                        body_sha256, status_code, error_class, error_message, latency_ms,
                        response_headers, response_excerpt)
SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::bigint[],
                     $6::bigint[], $7::text[], $8::text[], $9::int[], $10::text[],
                     $11::text[], $12::float8[], $13::text[], $14::bytea[])
ON CONFLICT (mirror, event_id) DO UPDATE SET
    sent_us = excluded.sent_us, reason = excluded.reason, body_sha256 = excluded.body_sha256,
    status_code = excluded.status_code, error_class = excluded.error_class,
    error_message = excluded.error_message, latency_ms = excluded.latency_ms,
    response_headers = excluded.response_headers, response_excerpt = excluded.response_excerpt;

-- name: mirror_pairs
SELECT m.mirror, m.event_id, m.source, m.event_type, m.received_us, m.sent_us, m.reason,
       m.body_sha256, m.status_code, m.error_class, m.error_message, m.latency_ms,
       CASE WHEN $6::boolean THEN m.response_headers ELSE '[]' END,
       CASE WHEN $6 THEN m.response_excerpt ELSE ''::bytea END,
       d.status, d.last_status_code,
       CASE WHEN $6 THEN a.response_headers ELSE '[]' END,
       CASE WHEN $6 THEN a.response_excerpt ELSE ''::bytea END
FROM mirror_log m
LEFT JOIN dispatches d ON d.event_id = m.event_id AND d.destination = $2
    AND d.replay_of IS NULL AND d.batch_id IS NULL
LEFT JOIN attempts a ON $6 AND a.dispatch_id = d.id AND a.number = d.attempts
WHERE m.mirror = $1 AND m.received_us >= $3
  AND ($4::text IS NULL OR m.source = $4)
  AND ($5::text[] IS NULL OR m.event_id = ANY($5::text[]))
ORDER BY m.received_us, m.event_id;
