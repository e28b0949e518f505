-- End-of-day balances of one account for the days $3 ..= $4: everything the daily rollup holds
-- for its flow and opening series ($5, $6) before $3, plus a running sum over the range.
WITH before AS (
    SELECT COALESCE(sum(total), 0) AS amount FROM fintra_metric_daily
    WHERE tenant_id = $1 AND key = $2 AND series IN ($5, $6)
      AND day < ($3::date::timestamp AT TIME ZONE 'UTC')
),
per_day AS (
    SELECT (day AT TIME ZONE 'UTC')::date AS day, sum(total) AS amount FROM fintra_metric_daily
    WHERE tenant_id = $1 AND key = $2 AND series IN ($5, $6)
      AND day >= ($3::date::timestamp AT TIME ZONE 'UTC')
      AND day < (($4::date + 1)::timestamp AT TIME ZONE 'UTC')
    GROUP BY 1
)
SELECT g.day,
       (SELECT amount FROM before) + sum(COALESCE(p.amount, 0)) OVER (ORDER BY g.day) AS balance
FROM (SELECT generate_series($3::date, $4::date, INTERVAL '1 day')::date AS day) AS g
LEFT JOIN per_day AS p ON p.day = g.day
ORDER BY g.day
