-- Requests exactly as received, their verdicts, dedup keys, and the delivery tables.
CREATE TABLE events (
    id                TEXT PRIMARY KEY,
    source            TEXT NOT NULL,
    received_us       BIGINT NOT NULL,
    remote_addr       TEXT NOT NULL,
    method            TEXT NOT NULL,
    path              TEXT NOT NULL,
    query_string      BYTEA NOT NULL,
    headers           BYTEA NOT NULL,
    body              BYTEA NOT NULL,
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
    last_duplicate_us BIGINT
);
CREATE INDEX events_source ON events (source, id);
CREATE INDEX events_type ON events (event_type, id);
CREATE INDEX events_status ON events (status, id);
CREATE INDEX events_verdict ON events (verdict, id);
CREATE INDEX events_received ON events (received_us);

CREATE TABLE dedup_keys (
    source            TEXT NOT NULL,
    provider_event_id TEXT NOT NULL,
    event_id          TEXT NOT NULL,
    first_seen_us     BIGINT NOT NULL,
    expires_us        BIGINT NOT NULL,
    PRIMARY KEY (source, provider_event_id)
);

CREATE TABLE dispatches (
    id               TEXT PRIMARY KEY,
    event_id         TEXT NOT NULL,
    destination      TEXT NOT NULL,
    status           TEXT NOT NULL,
    attempts         INTEGER NOT NULL DEFAULT 0,
    next_attempt_us  BIGINT,
    lease_owner      TEXT,
    lease_expires_us BIGINT,
    created_us       BIGINT NOT NULL,
    updated_us       BIGINT NOT NULL,
    replay_of        TEXT,
    batch_id         TEXT,
    last_status_code INTEGER
);
CREATE INDEX dispatches_due ON dispatches (status, next_attempt_us);
CREATE INDEX dispatches_event ON dispatches (event_id);
CREATE INDEX dispatches_destination ON dispatches (destination, status);

CREATE TABLE attempts (
    dispatch_id      TEXT NOT NULL,
    number           INTEGER NOT NULL,
    started_us       BIGINT NOT NULL,
    latency_ms       DOUBLE PRECISION NOT NULL,
    status_code      INTEGER,
    response_headers TEXT NOT NULL,
    response_excerpt BYTEA NOT NULL,
    error_class      TEXT,
    error_message    TEXT,
    decision         TEXT NOT NULL,
    next_attempt_us  BIGINT,
    PRIMARY KEY (dispatch_id, number)
);
