-- The mirror lane and its log (hookyard.mirror). Candidates are read by cursor in
-- (received_us, id) order from the receipt-time index; nothing here touches ingest.

-- name: mirror_candidates
-- The unary + keeps the planner on events_received: on the source index it read and
-- sorted every event of the source for each batch (O(events), 40 ms at 10,000).
SELECT id, source, received_us, event_type, provider_event_id, content_type, headers, body,
       key_id
FROM events
WHERE received_us >= :after_us AND received_us <= :until_us
  AND NOT (received_us = :after_us AND id <= :after_id)
  AND verdict != 'invalid'
  AND +source IN (SELECT value FROM json_each(:sources))
ORDER BY received_us, id
LIMIT :limit;

-- name: mirror_lane
SELECT mirror, cursor_us, cursor_id, updated_us, counts, lag_us FROM mirror_lanes WHERE mirror = ?;

-- name: save_mirror_lane
INSERT INTO mirror_lanes (mirror, cursor_us, cursor_id, updated_us, counts, lag_us)
VALUES (:mirror, :cursor_us, :cursor_id, :now, :counts, coalesce(:lag_us, 0))
ON CONFLICT (mirror) DO UPDATE SET
    cursor_us = CASE
        WHEN :cursor_us IS NULL THEN cursor_us
        WHEN cursor_us IS NULL OR (:cursor_us, :cursor_id) > (cursor_us, cursor_id) THEN :cursor_us
        ELSE cursor_us END,
    cursor_id = CASE
        WHEN :cursor_us IS NULL THEN cursor_id
        WHEN cursor_us IS NULL OR (:cursor_us, :cursor_id) > (cursor_us, cursor_id) THEN :cursor_id
        ELSE cursor_id END,
    updated_us = :now,
    counts = :counts,
    lag_us = coalesce(:lag_us, lag_us);

-- name: insert_mirror_copy
INSERT INTO mirror_log (mirror, event_id, source, event_type, received_us, sent_us, reason,
                        body_sha256, status_code, error_class, error_message, latency_ms,
                        response_headers, response_excerpt)
VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
ON CONFLICT (mirror, event_id) DO UPDATE SET
    sent_us = excluded.sent_us, reason = excluded.reason, body_sha256 = excluded.body_sha256,
    status_code = excluded.status_code, error_class = excluded.error_class,
    error_message = excluded.error_message, latency_ms = excluded.latency_ms,
    response_headers = excluded.response_headers, response_excerpt = excluded.response_excerpt;

-- name: mirror_pairs
SELECT m.mirror, m.event_id, m.source, m.event_type, m.received_us, m.sent_us, m.reason,
       m.body_sha256, m.status_code, m.error_class, m.error_message, m.latency_ms,
       CASE WHEN :bodies THEN m.response_headers ELSE '[]' END,
       CASE WHEN :bodies THEN m.response_excerpt ELSE X'' END,
       d.status, d.last_status_code,
       CASE WHEN :bodies THEN a.response_headers ELSE '[]' END,
       CASE WHEN :bodies THEN a.response_excerpt ELSE X'' END
FROM mirror_log m
LEFT JOIN dispatches d ON d.event_id = m.event_id AND d.destination = :destination
    AND d.replay_of IS NULL AND d.batch_id IS NULL
LEFT JOIN attempts a ON :bodies AND a.dispatch_id = d.id AND a.number = d.attempts
WHERE m.mirror = :mirror AND m.received_us >= :since
  AND (:source IS NULL OR m.source = :source)
  AND (:ids IS NULL OR m.event_id IN (SELECT value FROM json_each(:ids)))
ORDER BY m.received_us, m.event_id;

-- name: purge_delete_mirror_log
DELETE FROM mirror_log WHERE event_id IN (SELECT value FROM json_each(?));
