head AS (
    INSERT INTO fintra_streams AS s (stream_id, tenant_id, version)
    VALUES ($1, $2, $3)
    ON CONFLICT (stream_id) DO UPDATE SET version = s.version + EXCLUDED.version
        WHERE s.tenant_id = EXCLUDED.tenant_id
    RETURNING s.version
)
