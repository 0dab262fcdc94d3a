-- Claims read due dispatches per destination in due order and stop at the limit. With
-- only (destination, status), PostgreSQL fetched every pending row of the destination,
-- stale index entries of rows already claimed included, and sorted them on every claim.
-- The new index also serves everything (destination, status) did.
CREATE INDEX dispatches_claim ON dispatches (destination, status, next_attempt_us);
DROP INDEX dispatches_destination;
