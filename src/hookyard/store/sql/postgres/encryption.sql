-- Encryption at rest: the keys that have sealed events, and re-sealing (keys rotate).

-- name: registered_keys
SELECT id, check_value FROM encryption_keys;

-- name: register_key
INSERT INTO encryption_keys (id, check_value, added_us) VALUES ($1, $2, $3)
ON CONFLICT (id) DO NOTHING;

-- name: forget_key
DELETE FROM encryption_keys WHERE id = $1;

-- name: key_usage
SELECT key_id, count(*) FROM events GROUP BY key_id;

-- name: reseal_candidates
-- In id order from where the last batch stopped, locked until the batch commits. A row
-- another transaction holds (a second rotation's batch) is passed over, not waited for:
-- that one seals it; `keys rotate` walks again for anything still left.
SELECT id, key_id, headers, body FROM events
WHERE id > $1 AND key_id IS DISTINCT FROM $2
ORDER BY id LIMIT $3
FOR UPDATE SKIP LOCKED;

-- name: reseal_events
UPDATE events AS e SET headers = u.headers, body = u.body, key_id = u.key_id
FROM unnest($1::text[], $2::bytea[], $3::bytea[], $4::text[]) AS u(id, headers, body, key_id)
WHERE e.id = u.id;
