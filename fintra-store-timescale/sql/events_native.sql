-- The events table as native declarative range partitions on recorded_at. Partitions are
-- created ahead of time by maintain(); the default partition catches rows no partition covers
-- (maintain() moves them into their partition once it exists), so an append never fails for
-- want of a partition.
CREATE TABLE IF NOT EXISTS fintra_events (
    position        bigint      NOT NULL,
    event_id        uuid        NOT NULL,
    stream_id       text        NOT NULL,
    stream_version  bigint      NOT NULL CHECK (stream_version > 0),
    tenant_id       text        NOT NULL,
    event_type      text        NOT NULL,
    schema_version  integer     NOT NULL,
    recorded_at     timestamptz NOT NULL DEFAULT now(),
    occurred_at     timestamptz NOT NULL,
    correlation_id  uuid,
    causation_id    uuid,
    actor           text        NOT NULL,
    headers         jsonb       NOT NULL,
    content_type    text        NOT NULL,
    payload         bytea       NOT NULL
) PARTITION BY RANGE (recorded_at);
CREATE TABLE IF NOT EXISTS fintra_events_default PARTITION OF fintra_events DEFAULT;
