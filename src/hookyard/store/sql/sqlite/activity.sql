-- The Overview's counts (hookyard.store.activity): per bucket since a time, and the backlog.

-- name: activity_received
SELECT (received_us - :since) / :bucket AS slot, count(*) FROM events
WHERE received_us >= :since GROUP BY slot;

-- name: activity_attempts
SELECT (started_us - :since) / :bucket AS slot,
       sum(CASE WHEN status_code BETWEEN 200 AND 299 THEN 1 ELSE 0 END),
       sum(CASE WHEN status_code BETWEEN 200 AND 299 THEN 0 ELSE 1 END)
FROM attempts WHERE started_us >= :since GROUP BY slot;

-- name: activity_backlog
-- The earliest due time is read per status, each one step down the (status,
-- next_attempt_us) index, instead of visiting every waiting row.
SELECT (SELECT count(*) FROM dispatches
        WHERE status IN ('pending', 'retrying', 'in_flight')),
       (SELECT min(next_attempt_us) FROM dispatches WHERE status = 'pending'),
       (SELECT min(next_attempt_us) FROM dispatches WHERE status = 'retrying');

-- name: activity_dead
SELECT count(*) FROM dispatches WHERE status = 'dead';
