-- fintra hot store schema.
--
-- Global positions encode the writer's transaction: position = xid8 * 2^20 + n, where n counts
-- the events that transaction wrote (1, 2, …). Readers return only positions below
-- pg_snapshot_xmin(pg_current_snapshot()) * 2^20, i.e. events of transactions that can no longer
-- commit behind them. See docs/adr/0001-gap-safe-positions.md.

-- One head row per stream: its tenant and current version. Appends update it in the same
-- statement that inserts the events, which serialises writers of one stream on a row lock and
-- makes ExpectedVersion checks exact.
CREATE TABLE fintra_streams (
    stream_id  text   PRIMARY KEY,
    tenant_id  text   NOT NULL,
    version    bigint NOT NULL CHECK (version > 0)
);

CREATE TABLE fintra_events (
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
    payload         bytea       NOT NULL,
    CONSTRAINT fintra_events_pkey PRIMARY KEY (position),
    CONSTRAINT fintra_events_event_id_key UNIQUE (event_id),
    CONSTRAINT fintra_events_stream_version_key UNIQUE (stream_id, stream_version)
);

-- No index on (stream_id, occurred_at): an as-of read must return a stream's events in version
-- order, so it walks fintra_events_stream_version_key and filters on time; a second index
-- would cost about a third of bulk-ingest throughput and serve no query (docs/adr/0002).

CREATE TABLE fintra_snapshots (
    stream_id       text        PRIMARY KEY,
    version         bigint      NOT NULL CHECK (version > 0),
    schema_version  integer     NOT NULL,
    occurred_at     timestamptz NOT NULL,
    state           bytea       NOT NULL,
    saved_at        timestamptz NOT NULL DEFAULT now()
);
