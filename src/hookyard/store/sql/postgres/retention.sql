-- Retention: what a purge reads and deletes (hookyard.store.postgres.retention).
-- A dispatch still to deliver keeps its event: the statuses are those of
-- store.policy.ACTIVE_DISPATCH_STATUSES.

-- name: purge_candidates_in
-- The next events of the named sources received before the cutoff, in id order; the id
-- bound keeps the walk on the (source, id) index.
SELECT id FROM events
WHERE source = ANY($1::text[]) AND id > $2 AND id < $3 AND received_us < $4
ORDER BY id LIMIT $5;

-- name: purge_candidates_except
SELECT id FROM events
WHERE source <> ALL($1::text[]) AND id > $2 AND id < $3 AND received_us < $4
ORDER BY id LIMIT $5;

-- name: count_purge_candidates_in
SELECT count(*) FROM events WHERE source = ANY($1::text[]) AND id < $2 AND received_us < $3;

-- name: count_purge_candidates_except
SELECT count(*) FROM events WHERE source <> ALL($1::text[]) AND id < $2 AND received_us < $3;

-- name: purge_lock_dispatches
-- The candidates' dispatches, locked; one a worker or a recorder holds is skipped, and
-- its event then stays (no purge waits for delivery, so none can deadlock with it).
SELECT id FROM dispatches WHERE event_id = ANY($1::text[]) ORDER BY id FOR UPDATE SKIP LOCKED;

-- name: purge_events
-- One statement: the eligible candidates ($1) — nothing left to deliver, every dispatch
-- among those locked ($2), dead letters only when $3 — and all that hangs off them. A
-- dedup key still inside its window ($4 is now) stays, so a repeat is still one.
-- Arrays of ids rather than joins: a join's cached plan, made while the tables were
-- small, would scan them whole (see migration 0008).
WITH eligible AS (
    SELECT e.id, e.source, e.provider_event_id FROM events e
    WHERE e.id = ANY($1::text[])
      AND NOT EXISTS (
          SELECT 1 FROM dispatches d WHERE d.event_id = e.id
            AND (d.status IN ('pending', 'retrying', 'in_flight', 'disabled')
                 OR d.id <> ALL($2::text[])))
      AND EXISTS (SELECT 1 FROM dispatches d WHERE d.event_id = e.id AND d.status = 'dead') = $3
),
gone_dispatches AS (
    DELETE FROM dispatches
    WHERE event_id = ANY(ARRAY(SELECT id FROM eligible))
    RETURNING id, destination, event_id
),
gone_attempts AS (
    DELETE FROM attempts WHERE dispatch_id = ANY(ARRAY(SELECT id FROM gone_dispatches))
    RETURNING 1
),
gone_handler_keys AS (
    DELETE FROM processed_keys p
    USING (
        SELECT DISTINCT g.destination, coalesce(e.provider_event_id, e.id) AS key, e.id
        FROM gone_dispatches g JOIN eligible e ON e.id = g.event_id
    ) AS k
    WHERE p.destination = k.destination AND p.key = k.key AND p.event_id = k.id
    RETURNING 1
),
gone_dedup_keys AS (
    DELETE FROM dedup_keys k USING eligible e
    WHERE k.source = e.source AND k.provider_event_id = e.provider_event_id
      AND k.event_id = e.id AND k.expires_us <= $4
    RETURNING 1
),
gone_redactions AS (
    DELETE FROM redactions WHERE event_id = ANY(ARRAY(SELECT id FROM eligible)) RETURNING 1
),
gone_mirror_log AS (
    DELETE FROM mirror_log WHERE event_id = ANY(ARRAY(SELECT id FROM eligible)) RETURNING 1
),
gone_status AS (
    DELETE FROM event_status WHERE event_id = ANY(ARRAY(SELECT id FROM eligible)) RETURNING 1
),
gone_events AS (
    DELETE FROM events WHERE id = ANY(ARRAY(SELECT id FROM eligible)) RETURNING 1
)
SELECT (SELECT count(*) FROM gone_events), (SELECT count(*) FROM gone_dispatches),
       (SELECT count(*) FROM gone_attempts), (SELECT count(*) FROM gone_dedup_keys),
       (SELECT count(*) FROM gone_handler_keys), (SELECT count(*) FROM gone_status),
       (SELECT count(*) FROM gone_redactions);

-- name: purge_count
-- What purge_events would delete, deleting nothing (a dry run; nothing is locked).
WITH eligible AS (
    SELECT e.id, e.source, e.provider_event_id FROM events e
    WHERE e.id = ANY($1::text[])
      AND NOT EXISTS (
          SELECT 1 FROM dispatches d WHERE d.event_id = e.id
            AND d.status IN ('pending', 'retrying', 'in_flight', 'disabled'))
      AND EXISTS (SELECT 1 FROM dispatches d WHERE d.event_id = e.id AND d.status = 'dead') = $2
),
ds AS (
    SELECT id, destination, event_id FROM dispatches
    WHERE event_id = ANY(ARRAY(SELECT id FROM eligible))
)
SELECT (SELECT count(*) FROM eligible), (SELECT count(*) FROM ds),
       (SELECT count(*) FROM attempts WHERE dispatch_id = ANY(ARRAY(SELECT id FROM ds))),
       (SELECT count(*) FROM dedup_keys k JOIN eligible e
            ON k.source = e.source AND k.provider_event_id = e.provider_event_id
           AND k.event_id = e.id AND k.expires_us <= $3),
       (SELECT count(*) FROM processed_keys p JOIN (
            SELECT DISTINCT g.destination, coalesce(e.provider_event_id, e.id) AS key, e.id
            FROM ds g JOIN eligible e ON e.id = g.event_id) AS k
            ON p.destination = k.destination AND p.key = k.key AND p.event_id = k.id);

-- name: purge_stale_dedup_keys
-- Keys past their window whose event is gone. A key taken over meanwhile has a new
-- window, and the condition, checked again on the row locked, keeps it.
WITH stale AS (
    SELECT source, provider_event_id FROM dedup_keys k
    WHERE expires_us <= $1 AND NOT EXISTS (SELECT 1 FROM events e WHERE e.id = k.event_id)
    LIMIT $2
)
DELETE FROM dedup_keys k USING stale s
WHERE k.source = s.source AND k.provider_event_id = s.provider_event_id AND k.expires_us <= $1;

-- name: count_stale_dedup_keys
SELECT count(*) FROM (
    SELECT 1 FROM dedup_keys k
    WHERE expires_us <= $1 AND NOT EXISTS (SELECT 1 FROM events e WHERE e.id = k.event_id)
    LIMIT $2
) AS stale;

-- name: purge_replay_batches
DELETE FROM replay_batches WHERE id IN (
    SELECT id FROM replay_batches b
    WHERE status <> 'running' AND created_us < $1
      AND NOT EXISTS (SELECT 1 FROM dispatches d WHERE d.batch_id = b.id)
    ORDER BY id LIMIT $2
);

-- name: count_finished_replay_batches
SELECT count(*) FROM (
    SELECT 1 FROM replay_batches b
    WHERE status <> 'running' AND created_us < $1
      AND NOT EXISTS (SELECT 1 FROM dispatches d WHERE d.batch_id = b.id)
    LIMIT $2
) AS done;
