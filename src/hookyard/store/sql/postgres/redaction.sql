-- Redaction of stored bodies (hookyard.redaction.runner through the store). A dispatch
-- still to deliver keeps its body as received: the statuses are those of
-- store.policy.ACTIVE_DISPATCH_STATUSES.

-- name: redaction_mark
SELECT up_to FROM redaction_marks WHERE source = $1;

-- name: redaction_candidates
SELECT e.id, e.body, e.content_type, e.key_id,
       EXISTS (SELECT 1 FROM dispatches d WHERE d.event_id = e.id
                 AND d.status IN ('pending', 'retrying', 'in_flight', 'disabled')) AS busy
FROM events e
WHERE e.source = $1 AND e.id > $2 AND e.id < $3 AND e.received_us < $4
  AND NOT EXISTS (SELECT 1 FROM redactions r WHERE r.event_id = e.id)
ORDER BY e.id LIMIT $5;

-- name: lock_event_key_ids
SELECT id, key_id FROM events WHERE id = ANY($1::text[]) FOR UPDATE;

-- name: redact_bodies
-- The redacted bodies, in one statement, of the events with nothing left to deliver;
-- their records go in with them. Returns the ids replaced.
WITH input AS (
    SELECT * FROM unnest($1::text[], $2::bytea[], $3::bigint[], $4::text[], $5::int[],
                         $6::text[], $7::int[])
        AS t(id, body, redacted_us, fields, replaced, body_sha256, body_size)
),
replaced AS (
    UPDATE events e SET body = i.body
    FROM input i
    WHERE e.id = i.id AND NOT EXISTS (
        SELECT 1 FROM dispatches d WHERE d.event_id = e.id
          AND d.status IN ('pending', 'retrying', 'in_flight', 'disabled'))
    RETURNING e.id
),
recorded AS (
    INSERT INTO redactions (event_id, redacted_us, fields, replaced, body_sha256, body_size)
    SELECT i.id, i.redacted_us, i.fields, i.replaced, i.body_sha256, i.body_size
    FROM input i WHERE i.id IN (SELECT id FROM replaced)
    ON CONFLICT (event_id) DO NOTHING
)
SELECT id FROM replaced;

-- name: set_redaction_mark
INSERT INTO redaction_marks (source, up_to) VALUES ($1, $2)
ON CONFLICT (source) DO UPDATE SET up_to = excluded.up_to
WHERE excluded.up_to > redaction_marks.up_to;

-- name: get_redaction
SELECT redacted_us, fields, replaced, body_sha256, body_size FROM redactions WHERE event_id = $1;
