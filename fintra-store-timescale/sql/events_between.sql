-- A page of events recorded in [$1, $2), of tenant $3, stream category $4 and type $5 when
-- given, after the cursor ($6, $7), visible under the same horizon as the global log.
SELECT {columns} FROM fintra_events
WHERE recorded_at >= $1 AND recorded_at < $2
  AND position < (pg_snapshot_xmin(pg_current_snapshot())::text::bigint << 20)
  AND ($3::text IS NULL OR tenant_id = $3)
  AND ($4::text IS NULL OR stream_id = $4 OR left(stream_id, length($4) + 1) = $4 || '-')
  AND ($5::text IS NULL OR event_type = $5)
  AND ($6::timestamptz IS NULL OR (recorded_at, position) > ($6, $7))
ORDER BY recorded_at, position
LIMIT $8
