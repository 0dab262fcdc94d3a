-- Indexes for the event filters on dispatches (destination, last response status).
-- One dispatch lookup per candidate event answers both filters from the index alone;
-- it also serves every lookup by event_id, so the narrower index goes.
CREATE INDEX dispatches_event_outcome ON dispatches (event_id, destination, last_status_code);
DROP INDEX dispatches_event;
