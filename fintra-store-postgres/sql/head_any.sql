head_update AS (
    UPDATE fintra_streams SET version = version + $3
    WHERE stream_id = $1 AND tenant_id = $2
    RETURNING version
),
head_insert AS (
    -- An update of a row the session cannot see would be a row-level-security error (ON CONFLICT
    -- DO UPDATE raises one), so the existing head is updated above and a new one inserted here;
    -- a stream created concurrently is retried by the caller.
    INSERT INTO fintra_streams (stream_id, tenant_id, version)
    SELECT $1, $2, $3 WHERE NOT EXISTS (SELECT 1 FROM head_update)
    ON CONFLICT (stream_id) DO NOTHING
    RETURNING version
),
head AS (
    SELECT version FROM head_update UNION ALL SELECT version FROM head_insert
)
