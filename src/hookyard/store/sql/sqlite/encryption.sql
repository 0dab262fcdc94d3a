-- Encryption at rest: the keys that have sealed events, and re-sealing (keys rotate).

-- name: registered_keys
SELECT id, check_value FROM encryption_keys;

-- name: register_key
INSERT INTO encryption_keys (id, check_value, added_us) VALUES (?, ?, ?)
ON CONFLICT (id) DO NOTHING;

-- name: forget_key
DELETE FROM encryption_keys WHERE id = ?;

-- name: key_usage
SELECT key_id, count(*) FROM events GROUP BY key_id;

-- name: reseal_candidates
-- In id order from where the last batch stopped; rows already under the current key
-- are passed over by the primary-key walk, not sorted.
SELECT id, key_id, headers, body FROM events
WHERE id > ? AND key_id IS NOT ?
ORDER BY id LIMIT ?;

-- name: reseal_event
UPDATE events SET headers = ?, body = ?, key_id = ? WHERE id = ?;
