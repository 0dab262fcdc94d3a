-- The durable cursor of each `hookyard listen` (by listener name): the last event it forwarded.
CREATE TABLE listeners (
    name          TEXT PRIMARY KEY,
    last_event_id TEXT NOT NULL,
    updated_us    INTEGER NOT NULL
);
