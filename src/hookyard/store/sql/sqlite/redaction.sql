-- Redaction of stored bodies (hookyard.redaction.runner through the store). A dispatch
-- still to deliver keeps its body as received: the statuses are those of
-- store.policy.ACTIVE_DISPATCH_STATUSES.

-- name: redaction_mark
SELECT up_to FROM redaction_marks WHERE source = ?;

-- name: redaction_candidates
SELECT e.id, e.body, e.content_type, e.key_id,
       EXISTS (SELECT 1 FROM dispatches d WHERE d.event_id = e.id
                 AND d.status IN ('pending', 'retrying', 'in_flight', 'disabled')) AS busy
FROM events e
WHERE e.source = :source AND e.id > :after AND e.id < :high AND e.received_us < :cutoff
  AND NOT EXISTS (SELECT 1 FROM redactions r WHERE r.event_id = e.id)
ORDER BY e.id LIMIT :limit;

-- name: event_key_id
SELECT key_id FROM events WHERE id = ?;

-- name: redact_body
UPDATE events SET body = ?
WHERE id = ? AND NOT EXISTS (
    SELECT 1 FROM dispatches d WHERE d.event_id = events.id
      AND d.status IN ('pending', 'retrying', 'in_flight', 'disabled'));

-- name: insert_redaction
INSERT INTO redactions (event_id, redacted_us, fields, replaced, body_sha256, body_size)
VALUES (?, ?, ?, ?, ?, ?)
ON CONFLICT (event_id) DO NOTHING;

-- name: set_redaction_mark
INSERT INTO redaction_marks (source, up_to) VALUES (?, ?)
ON CONFLICT (source) DO UPDATE SET up_to = excluded.up_to
WHERE excluded.up_to > redaction_marks.up_to;

-- name: get_redaction
SELECT redacted_us, fields, replaced, body_sha256, body_size FROM redactions WHERE event_id = ?;

-- name: purge_delete_redactions
DELETE FROM redactions WHERE event_id IN (SELECT value FROM json_each(?));
