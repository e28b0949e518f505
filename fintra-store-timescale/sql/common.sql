-- fintra warm store: the tables both layouts share. Idempotent (run by every migrate()).

-- One head row per stream: its tenant and current version. Appends update it in the statement
-- that inserts the events, which serialises the writers of one stream and makes
-- ExpectedVersion checks exact without a unique (stream_id, stream_version) index: a
-- time-partitioned table cannot hold one across partitions.
CREATE TABLE IF NOT EXISTS fintra_streams (
    stream_id  text   PRIMARY KEY,
    tenant_id  text   NOT NULL,
    version    bigint NOT NULL CHECK (version > 0)
);

-- Every event id ever appended, with its position: the idempotency keys. Narrow (two columns),
-- unpartitioned, kept when partitions are tiered to the cold archive, so an id stays taken.
CREATE TABLE IF NOT EXISTS fintra_event_ids (
    event_id  uuid   NOT NULL,
    position  bigint NOT NULL,
    CONSTRAINT fintra_event_ids_pkey PRIMARY KEY (event_id)
);

-- Which layout this schema uses and its partition width, fixed at the first migrate().
CREATE TABLE IF NOT EXISTS fintra_warm_meta (
    key    text PRIMARY KEY,
    value  text NOT NULL
);

-- Progress of moving partitions to the cold archive (one row per partition being tiered).
CREATE TABLE IF NOT EXISTS fintra_tiering (
    partition_name  text        PRIMARY KEY,
    range_from      timestamptz NOT NULL,
    range_to        timestamptz NOT NULL,
    state           text        NOT NULL CHECK (state IN ('exported', 'verified', 'dropped')),
    archive_id      text        NOT NULL,
    rows            bigint      NOT NULL,
    position_sum    numeric     NOT NULL,
    content_hash    text        NOT NULL,
    updated_at      timestamptz NOT NULL DEFAULT now()
);

-- Checkpoints of the rollup feeders (TwinRollups), moved with the points they wrote.
CREATE TABLE IF NOT EXISTS fintra_rollup_checkpoints (
    name      text   PRIMARY KEY,
    position  bigint NOT NULL
);
