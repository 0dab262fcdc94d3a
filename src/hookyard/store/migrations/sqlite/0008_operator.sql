-- Operator controls: a destination is active, paused (by an operator) or disabled (by a
-- 410), for every process; the workers report its circuit and last outcomes here (on
-- transitions and once a second, never per attempt). ``disabled`` stays in step with
-- ``state`` for readers of the old column.
ALTER TABLE destination_state ADD COLUMN state TEXT NOT NULL DEFAULT 'active';
UPDATE destination_state SET state = 'disabled' WHERE disabled = 1;
ALTER TABLE destination_state ADD COLUMN circuit TEXT NOT NULL DEFAULT 'closed';
ALTER TABLE destination_state ADD COLUMN circuit_until_us INTEGER;
ALTER TABLE destination_state ADD COLUMN last_success_us INTEGER;
ALTER TABLE destination_state ADD COLUMN last_error_us INTEGER;
ALTER TABLE destination_state ADD COLUMN last_error TEXT;

-- The audit trail: every state-changing operator action. Ids are time-ordered (newest
-- first is the primary key backwards).
CREATE TABLE audit_log (
    id      TEXT PRIMARY KEY,
    at_us   INTEGER NOT NULL,
    actor   TEXT NOT NULL,
    action  TEXT NOT NULL,
    target  TEXT NOT NULL,
    count   INTEGER NOT NULL DEFAULT 0,
    detail  TEXT NOT NULL DEFAULT '{}'
);
