WHERE stream_id = $1 AND stream_version >= $2
  AND ($3::timestamptz IS NULL OR recorded_at <= $3)
  AND ($4::timestamptz IS NULL OR occurred_at <= $4)
ORDER BY stream_version
LIMIT $5
