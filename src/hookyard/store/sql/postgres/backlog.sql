-- The dispatch backlog, sampled every few seconds by one process (hookyard.sampler).

-- name: backlog_counts
-- Only the states an operator watches: the status index (dispatches_due) serves it
-- without reading delivered rows, however many there are.
SELECT destination, status, count(*) FROM dispatches
WHERE status IN ('pending', 'retrying', 'in_flight', 'dead', 'disabled')
GROUP BY destination, status;

-- name: backlog_oldest_due
-- Per configured destination and waiting state, the first entry of dispatches_claim
-- (destination, status, next_attempt_us): two index probes a destination.
WITH wanted AS (
    SELECT unnest($1::text[]) AS destination
)
SELECT wanted.destination, LEAST(
    (SELECT min(next_attempt_us) FROM dispatches AS d
     WHERE d.destination = wanted.destination AND d.status = 'pending'
       AND d.next_attempt_us <= $2),
    (SELECT min(next_attempt_us) FROM dispatches AS d
     WHERE d.destination = wanted.destination AND d.status = 'retrying'
       AND d.next_attempt_us <= $2)
) FROM wanted;

-- name: sampler_lock
-- Session-level and non-blocking: the process whose connection holds it samples.
SELECT pg_try_advisory_lock($1);
