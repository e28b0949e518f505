-- Metric points (feed health, balances, spend …) and their daily rollup, maintained
-- incrementally by the statement that records points.
CREATE TABLE IF NOT EXISTS fintra_metric_points (
    tenant_id  text        NOT NULL,
    series     text        NOT NULL,
    key        text        NOT NULL,
    at         timestamptz NOT NULL,
    value      numeric     NOT NULL,
    source     text
);
CREATE INDEX IF NOT EXISTS fintra_metric_points_series_idx
    ON fintra_metric_points (tenant_id, series, key, at);
CREATE INDEX IF NOT EXISTS fintra_metric_points_source_idx
    ON fintra_metric_points (tenant_id, source) WHERE source IS NOT NULL;
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
