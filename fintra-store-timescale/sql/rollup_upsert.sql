-- Folds the points just inserted (the `points` CTE) into the daily rollup: one upsert per
-- (tenant, series, key, UTC day) in the batch.
INSERT INTO fintra_metric_daily AS d
    (tenant_id, series, key, day, total, count, min, max, last_at, last_value)
SELECT tenant_id, series, key, date_trunc('day', at, 'UTC'), sum(value), count(*), min(value),
       max(value), max(at), (array_agg(value ORDER BY at DESC))[1]
FROM points
GROUP BY tenant_id, series, key, date_trunc('day', at, 'UTC')
ON CONFLICT (tenant_id, series, key, day) DO UPDATE SET
    total = d.total + EXCLUDED.total,
    count = d.count + EXCLUDED.count,
    min = LEAST(d.min, EXCLUDED.min),
    max = GREATEST(d.max, EXCLUDED.max),
    last_at = GREATEST(d.last_at, EXCLUDED.last_at),
    last_value = CASE WHEN EXCLUDED.last_at >= d.last_at THEN EXCLUDED.last_value
                      ELSE d.last_value END
