-- Delivery state: disabled destinations (410 Gone), handler dedup keys, replay batches.
CREATE TABLE destination_state (
    name        TEXT PRIMARY KEY,
    disabled    BOOLEAN NOT NULL DEFAULT FALSE,
    reason      TEXT NOT NULL DEFAULT '',
    updated_us  BIGINT NOT NULL
);

CREATE TABLE processed_keys (
    destination  TEXT NOT NULL,
    key          TEXT NOT NULL,
    event_id     TEXT NOT NULL,
    processed_us BIGINT NOT NULL,
    PRIMARY KEY (destination, key)
);

CREATE TABLE replay_batches (
    id          TEXT PRIMARY KEY,
    created_us  BIGINT NOT NULL,
    filter      TEXT NOT NULL,
    target      TEXT NOT NULL,
    total       INTEGER NOT NULL,
    status      TEXT NOT NULL
);

CREATE INDEX dispatches_batch ON dispatches (batch_id);
