-- Indexes chosen for append speed: two narrow B-trees (position for the global log, stream and
-- version for stream reads) and a BRIN on recorded_at (a few pages per partition, because rows
-- arrive in time order) for time ranges. No index on event_id: ids are claimed in
-- fintra_event_ids.
CREATE INDEX IF NOT EXISTS fintra_events_position_idx ON fintra_events (position);
CREATE INDEX IF NOT EXISTS fintra_events_stream_idx ON fintra_events (stream_id, stream_version);
CREATE INDEX IF NOT EXISTS fintra_events_recorded_brin ON fintra_events USING brin (recorded_at);
