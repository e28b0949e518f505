CREATE MATERIALIZED VIEW IF NOT EXISTS fintra_metric_daily
WITH (timescaledb.continuous, timescaledb.materialized_only = false) AS
SELECT tenant_id, series, key, time_bucket(INTERVAL '1 day', at) AS day,
       sum(value) AS total, count(*) AS count, min(value) AS min, max(value) AS max,
       max(at) AS last_at, last(value, at) AS last_value
FROM fintra_metric_points
GROUP BY tenant_id, series, key, time_bucket(INTERVAL '1 day', at)
WITH NO DATA
