-- Requests exactly as received, their verdicts, dedup keys, and the delivery tables.
CREATE TABLE events (
    id                TEXT PRIMARY KEY,
    source            TEXT NOT NULL,
    received_us       INTEGER NOT NULL,
    remote_addr       TEXT NOT NULL,
    method            TEXT NOT NULL,
    path              TEXT NOT NULL,
    query_string      BLOB NOT NULL,
    headers           BLOB NOT NULL,
    body              BLOB NOT NULL,
    body_sha256       TEXT NOT NULL,
    body_size         INTEGER NOT NULL,
    content_type      TEXT NOT NULL,
    verdict           TEXT NOT NULL,
    verdict_reason    TEXT NOT NULL,
    verdict_detail    TEXT NOT NULL,
    secret_index      INTEGER,
    provider_event_id TEXT,
    event_type        TEXT,
    status            TEXT NOT NULL,
    duplicate_count   INTEGER NOT NULL DEFAULT 0,
    last_duplicate_us INTEGER
);  -- a rowid table: 1-3 KB rows in a WITHOUT ROWID b-tree leave most of each page empty
CREATE INDEX events_source ON events (source, id);
CREATE INDEX events_type ON events (event_type, id);
CREATE INDEX events_status ON events (status, id);
CREATE INDEX events_verdict ON events (verdict, id);
CREATE INDEX events_received ON events (received_us);

CREATE TABLE dedup_keys (
    source            TEXT NOT NULL,
    provider_event_id TEXT NOT NULL,
    event_id          TEXT NOT NULL,
    first_seen_us     INTEGER NOT NULL,
    expires_us        INTEGER NOT NULL,
    PRIMARY KEY (source, provider_event_id)
) WITHOUT ROWID;

CREATE TABLE dispatches (
    id               TEXT PRIMARY KEY,
    event_id         TEXT NOT NULL,
    destination      TEXT NOT NULL,
    status           TEXT NOT NULL,
    attempts         INTEGER NOT NULL DEFAULT 0,
    next_attempt_us  INTEGER,
    lease_owner      TEXT,
    lease_expires_us INTEGER,
    created_us       INTEGER NOT NULL,
    updated_us       INTEGER NOT NULL,
    replay_of        TEXT,
    batch_id         TEXT,
    last_status_code INTEGER
) WITHOUT ROWID;
CREATE INDEX dispatches_due ON dispatches (status, next_attempt_us);
CREATE INDEX dispatches_event ON dispatches (event_id);
CREATE INDEX dispatches_destination ON dispatches (destination, status);

CREATE TABLE attempts (
    dispatch_id      TEXT NOT NULL,
    number           INTEGER NOT NULL,
    started_us       INTEGER NOT NULL,
    latency_ms       REAL NOT NULL,
    status_code      INTEGER,
    response_headers TEXT NOT NULL,
    response_excerpt BLOB NOT NULL,
    error_class      TEXT,
    error_message    TEXT,
    decision         TEXT NOT NULL,
    next_attempt_us  INTEGER,
    PRIMARY KEY (dispatch_id, number)
) WITHOUT ROWID;
