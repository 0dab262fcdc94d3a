-- Cursors of `hookyard listen` (migration 0011).

-- name: listener_cursor
SELECT last_event_id FROM listeners WHERE name = ?;

-- name: save_listener_cursor
INSERT INTO listeners (name, last_event_id, updated_us) VALUES (?, ?, ?)
ON CONFLICT (name) DO UPDATE
    SET last_event_id = excluded.last_event_id, updated_us = excluded.updated_us;
