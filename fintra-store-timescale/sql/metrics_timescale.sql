-- Metric points as a hypertable; the daily rollup is a continuous aggregate with real-time
-- aggregation (materialized_only = false), so points not yet materialised are included.
CREATE TABLE IF NOT EXISTS fintra_metric_points (
    tenant_id  text        NOT NULL,
    series     text        NOT NULL,
    key        text        NOT NULL,
    at         timestamptz NOT NULL,
    value      numeric     NOT NULL,
    source     text
);
SELECT create_hypertable('fintra_metric_points', by_range('at', INTERVAL '{interval}'),
                         create_default_indexes => false, if_not_exists => true);
CREATE INDEX IF NOT EXISTS fintra_metric_points_series_idx
    ON fintra_metric_points (tenant_id, series, key, at);
CREATE INDEX IF NOT EXISTS fintra_metric_points_source_idx
    ON fintra_metric_points (tenant_id, source) WHERE source IS NOT NULL;
