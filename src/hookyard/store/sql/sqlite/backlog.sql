-- The dispatch backlog, sampled every few seconds (hookyard.sampler).

-- name: backlog_counts
SELECT destination, status, count(*) FROM dispatches
WHERE status IN ('pending', 'retrying', 'in_flight', 'dead', 'disabled')
GROUP BY destination, status;

-- name: backlog_oldest_due
-- One destination at a time; dispatches_due (status, next_attempt_us) finds each minimum.
SELECT min(next_attempt_us) FROM dispatches
WHERE destination = ? AND status IN ('pending', 'retrying') AND next_attempt_us <= ?;
