-- The events table: the hot store's columns, partitioned by recorded_at ({partitioning} is
-- `PARTITION BY RANGE (recorded_at)` natively, nothing before create_hypertable).
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
){partitioning};
