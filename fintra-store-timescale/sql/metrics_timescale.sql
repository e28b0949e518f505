-- TimescaleDB layout: points as a hypertable; the daily rollup is a continuous aggregate
-- (metrics_cagg.sql, created outside the transaction).
SELECT create_hypertable('fintra_metric_points', by_range('at', INTERVAL '{interval}'),
                         create_default_indexes => false, if_not_exists => true);
