-- Native layout: points in a plain table; their daily rollup is a table maintained
-- incrementally by the statement that records points (rollup_upsert.sql).
CREATE TABLE IF NOT EXISTS fintra_metric_daily (
    tenant_id   text        NOT NULL,
    series      text        NOT NULL,
    key         text        NOT NULL,
    day         timestamptz NOT NULL,
    total       numeric     NOT NULL,
    count       bigint      NOT NULL,
    min         numeric     NOT NULL,
    max         numeric     NOT NULL,
    last_at     timestamptz NOT NULL,
    last_value  numeric     NOT NULL,
    PRIMARY KEY (tenant_id, series, key, day)
);
