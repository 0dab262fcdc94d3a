-- The mirror log: one row per candidate event of each mirror (sent, or why not), and
-- each lane's durable cursor, heartbeat, lag and counts by outcome.
CREATE TABLE mirror_log (
    mirror           TEXT NOT NULL,
    event_id         TEXT NOT NULL,
    source           TEXT NOT NULL,
    event_type       TEXT,
    received_us      INTEGER NOT NULL,
    sent_us          INTEGER NOT NULL,
    reason           TEXT,
    body_sha256      TEXT,
    status_code      INTEGER,
    error_class      TEXT,
    error_message    TEXT,
    latency_ms       REAL,
    response_headers TEXT NOT NULL,
    response_excerpt BLOB NOT NULL,
    PRIMARY KEY (mirror, event_id)
);
CREATE INDEX mirror_log_received ON mirror_log (mirror, received_us);

CREATE TABLE mirror_lanes (
    mirror      TEXT PRIMARY KEY,
    cursor_us   INTEGER,
    cursor_id   TEXT,
    updated_us  INTEGER NOT NULL,
    lag_us      BIGINT NOT NULL DEFAULT 0,
    counts      TEXT NOT NULL DEFAULT '{}'
);
