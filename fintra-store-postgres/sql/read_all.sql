-- Gap-safe: only events of transactions older than every transaction still running, so an
-- event that commits later can never land behind a position a reader has passed.
WHERE position > $1
  AND position < (pg_snapshot_xmin(pg_current_snapshot())::text::bigint << 20)
ORDER BY position
LIMIT $2
