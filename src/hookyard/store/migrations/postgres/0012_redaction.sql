-- Redaction: which stored bodies had fields replaced (redact_fields, redact_after), and
-- how far each source's redaction has come (events before the mark are done).
-- body_sha256 and body_size in events stay those of the bytes that arrived (what the
-- provider signed); here are those of the bytes now stored.
CREATE TABLE redactions (
    event_id    TEXT PRIMARY KEY,
    redacted_us BIGINT NOT NULL,
    fields      TEXT NOT NULL,
    replaced    INTEGER NOT NULL,
    body_sha256 TEXT NOT NULL,
    body_size   INTEGER NOT NULL
);

CREATE TABLE redaction_marks (
    source TEXT PRIMARY KEY,
    up_to  TEXT NOT NULL
);
