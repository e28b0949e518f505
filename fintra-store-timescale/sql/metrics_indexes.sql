CREATE INDEX IF NOT EXISTS fintra_metric_points_series_idx
    ON fintra_metric_points (tenant_id, series, key, at);
CREATE INDEX IF NOT EXISTS fintra_metric_points_source_idx
    ON fintra_metric_points (tenant_id, source) WHERE source IS NOT NULL;
