head AS (
    INSERT INTO fintra_streams (stream_id, tenant_id, version)
    VALUES ($1, $2, $3)
    ON CONFLICT (stream_id) DO NOTHING
    RETURNING version
)
