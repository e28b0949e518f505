-- Bulk import: reserve version ranges on every stream's head row in one statement.
INSERT INTO fintra_streams AS s (stream_id, tenant_id, version)
SELECT * FROM UNNEST($1::text[], $2::text[], $3::bigint[])
ON CONFLICT (stream_id) DO UPDATE SET version = s.version + EXCLUDED.version
RETURNING s.stream_id, s.tenant_id, s.version
