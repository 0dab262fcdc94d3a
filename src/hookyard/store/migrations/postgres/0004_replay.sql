-- Replay batches: outcome counters, progress time, how the run was made, why it stopped.
ALTER TABLE replay_batches
    ADD COLUMN delivered   INTEGER NOT NULL DEFAULT 0,
    ADD COLUMN failed      INTEGER NOT NULL DEFAULT 0,
    ADD COLUMN skipped     INTEGER NOT NULL DEFAULT 0,
    ADD COLUMN updated_us  BIGINT,
    ADD COLUMN finished_us BIGINT,
    ADD COLUMN options     TEXT NOT NULL DEFAULT '{}',
    ADD COLUMN error       TEXT;
