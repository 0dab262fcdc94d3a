-- The Overview's counts (hookyard.store.activity): per bucket since a time, and the backlog.

-- name: activity_received
SELECT ((received_us - $1) / $2)::int AS slot, count(*)::int FROM events
WHERE received_us >= $1 GROUP BY slot;

-- name: activity_attempts
SELECT ((started_us - $1) / $2)::int AS slot,
       count(*) FILTER (WHERE status_code BETWEEN 200 AND 299)::int,
       count(*) FILTER (WHERE status_code IS NULL OR status_code NOT BETWEEN 200 AND 299)::int
FROM attempts WHERE started_us >= $1 GROUP BY slot;

-- name: activity_backlog
-- The earliest due time is read per status, each one step down the (status,
-- next_attempt_us) index, instead of visiting every waiting row.
SELECT (SELECT count(*)::int FROM dispatches
        WHERE status IN ('pending', 'retrying', 'in_flight')),
       (SELECT min(next_attempt_us) FROM dispatches WHERE status = 'pending'),
       (SELECT min(next_attempt_us) FROM dispatches WHERE status = 'retrying');

-- name: activity_dead
SELECT count(*)::int FROM dispatches WHERE status = 'dead';
