-- The events table: the hot store's columns (fintra_store_postgres::warm::EVENTS_TABLE_COLUMNS),
-- partitioned by recorded_at (natively `PARTITION BY RANGE (recorded_at)`, nothing before
-- create_hypertable).
CREATE TABLE IF NOT EXISTS fintra_events (
{columns}
){partitioning};
