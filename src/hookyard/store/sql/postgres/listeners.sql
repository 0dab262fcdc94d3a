-- Cursors of `hookyard listen` (migration 0017).

-- name: listener_cursor
SELECT last_event_id FROM listeners WHERE name = $1;

-- name: save_listener_cursor
INSERT INTO listeners (name, last_event_id, updated_us) VALUES ($1, $2, $3)
ON CONFLICT (name) DO UPDATE
    SET last_event_id = excluded.last_event_id, updated_us = excluded.updated_us;
