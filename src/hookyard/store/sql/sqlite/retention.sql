-- Retention: what a purge reads and deletes (hookyard.store.sqlite.retention).
-- A dispatch still to deliver keeps its event: the statuses are those of
-- store.policy.ACTIVE_DISPATCH_STATUSES.

-- name: purge_candidates_in
-- The next events of the named sources received before the cutoff, in id order; the id
-- bound keeps the walk on the (source, id) index.
SELECT id FROM events
WHERE source IN (SELECT value FROM json_each(:sources))
  AND id > :after AND id < :high AND received_us < :cutoff
ORDER BY id LIMIT :limit;

-- name: purge_candidates_except
SELECT id FROM events
WHERE id > :after AND id < :high AND received_us < :cutoff
  AND source NOT IN (SELECT value FROM json_each(:excluded))
ORDER BY id LIMIT :limit;

-- name: count_purge_candidates_in
SELECT count(*) FROM events
WHERE source IN (SELECT value FROM json_each(:sources))
  AND id < :high AND received_us < :cutoff;

-- name: count_purge_candidates_except
SELECT count(*) FROM events
WHERE id < :high AND received_us < :cutoff
  AND source NOT IN (SELECT value FROM json_each(:excluded));

-- name: purge_eligible
-- Of the candidates, those with nothing left to deliver, and dead letters only when
-- :dead (1) asks for them.
SELECT e.id, e.source, e.provider_event_id FROM events e
WHERE e.id IN (SELECT value FROM json_each(:ids))
  AND NOT EXISTS (
      SELECT 1 FROM dispatches d WHERE d.event_id = e.id
        AND d.status IN ('pending', 'retrying', 'in_flight', 'disabled'))
  AND EXISTS (SELECT 1 FROM dispatches d WHERE d.event_id = e.id AND d.status = 'dead') = :dead;

-- name: purge_dispatches_of
SELECT id, destination, event_id FROM dispatches
WHERE event_id IN (SELECT value FROM json_each(?));

-- name: purge_count_attempts
SELECT count(*) FROM attempts WHERE dispatch_id IN (SELECT value FROM json_each(?));

-- name: purge_delete_attempts
DELETE FROM attempts WHERE dispatch_id IN (SELECT value FROM json_each(?));

-- name: purge_delete_dispatches
DELETE FROM dispatches WHERE id IN (SELECT value FROM json_each(?));

-- name: purge_count_processed_key
SELECT count(*) FROM processed_keys WHERE destination = ? AND key = ? AND event_id = ?;

-- name: purge_delete_processed_key
DELETE FROM processed_keys WHERE destination = ? AND key = ? AND event_id = ?;

-- name: purge_count_dedup_key
-- A key still inside its window stays: a repeat must still be recognised as one.
SELECT count(*) FROM dedup_keys
WHERE source = ? AND provider_event_id = ? AND event_id = ? AND expires_us <= ?;

-- name: purge_delete_dedup_key
DELETE FROM dedup_keys
WHERE source = ? AND provider_event_id = ? AND event_id = ? AND expires_us <= ?;

-- name: purge_delete_events
DELETE FROM events WHERE id IN (SELECT value FROM json_each(?));

-- name: purge_stale_dedup_keys
SELECT source, provider_event_id FROM dedup_keys k
WHERE expires_us <= ? AND NOT EXISTS (SELECT 1 FROM events e WHERE e.id = k.event_id)
LIMIT ?;

-- name: purge_delete_stale_dedup_key
DELETE FROM dedup_keys WHERE source = ? AND provider_event_id = ? AND expires_us <= ?;

-- name: purge_finished_replay_batches
SELECT id FROM replay_batches b
WHERE status <> 'running' AND created_us < ?
  AND NOT EXISTS (SELECT 1 FROM dispatches d WHERE d.batch_id = b.id)
ORDER BY id LIMIT ?;

-- name: purge_delete_replay_batches
DELETE FROM replay_batches WHERE id IN (SELECT value FROM json_each(?));
