-- Replay batches: outcome counters, progress time, how the run was made, why it stopped.
ALTER TABLE replay_batches ADD COLUMN delivered INTEGER NOT NULL DEFAULT 0;
ALTER TABLE replay_batches ADD COLUMN failed INTEGER NOT NULL DEFAULT 0;
ALTER TABLE replay_batches ADD COLUMN skipped INTEGER NOT NULL DEFAULT 0;
ALTER TABLE replay_batches ADD COLUMN updated_us INTEGER;
ALTER TABLE replay_batches ADD COLUMN finished_us INTEGER;
ALTER TABLE replay_batches ADD COLUMN options TEXT NOT NULL DEFAULT '{}';
ALTER TABLE replay_batches ADD COLUMN error TEXT;
