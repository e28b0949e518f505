head AS (
    UPDATE fintra_streams SET version = version + $3
    WHERE stream_id = $1 AND tenant_id = $2 AND version = $4
    RETURNING version
)
