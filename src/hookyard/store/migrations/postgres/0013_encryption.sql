-- Encryption at rest: the key that sealed an event's body and header list (NULL: in
-- clear), and each key that has sealed events here, with a value sealed under it so a
-- different key given under the same id is refused at start. A nullable column with no
-- default is added without rewriting the table.
ALTER TABLE events ADD COLUMN key_id TEXT;

CREATE TABLE encryption_keys (
    id          TEXT PRIMARY KEY,
    check_value BYTEA NOT NULL,
    added_us    BIGINT NOT NULL
);
