-- The Overview counts attempts of the last hour by start time (hookyard.store.activity).
CREATE INDEX attempts_started ON attempts (started_us);
