-- Saves a snapshot only for a stream this session can see, at a version the stream has reached,
-- and only over an older snapshot. Reports what it wrote and the stream's head, so the caller
-- can tell "older than the stored one" (fine) from "beyond the head or no such stream" (refused).
WITH head AS (
    SELECT tenant_id, version FROM fintra_streams WHERE stream_id = $1
),
saved AS (
    INSERT INTO fintra_snapshots AS s
        (stream_id, tenant_id, version, schema_version, occurred_at, state)
    SELECT $1, head.tenant_id, $2, $3, $4, $5 FROM head WHERE head.version >= $2
    ON CONFLICT (stream_id) DO UPDATE
        SET version = EXCLUDED.version, schema_version = EXCLUDED.schema_version,
            occurred_at = EXCLUDED.occurred_at, state = EXCLUDED.state, saved_at = now()
        WHERE s.version < EXCLUDED.version
    RETURNING 1
)
SELECT (SELECT count(*) FROM saved) AS saved, (SELECT version FROM head) AS head
