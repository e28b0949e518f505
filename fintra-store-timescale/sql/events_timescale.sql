-- The events table as a TimescaleDB hypertable on recorded_at ({interval} per chunk), without
-- TimescaleDB's default time index (the BRIN index below serves time ranges).
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
);
SELECT create_hypertable('fintra_events', by_range('recorded_at', INTERVAL '{interval}'),
                         create_default_indexes => false, if_not_exists => true);
