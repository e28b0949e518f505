-- Bulk import under row-level security: reserve version ranges without ON CONFLICT DO UPDATE,
-- which raises on a head row the session cannot see. Existing heads of the session's tenant are
-- locked in stream-id order (no deadlocks between imports) and moved; new ones are inserted.
-- A stream missing from the result is another tenant's, or was created concurrently.
WITH wanted AS (
    SELECT * FROM UNNEST($1::text[], $2::text[], $3::bigint[]) AS w(stream_id, tenant_id, count)
),
locked AS (
    SELECT s.stream_id FROM fintra_streams s JOIN wanted w ON w.stream_id = s.stream_id
    WHERE s.tenant_id = w.tenant_id
    ORDER BY s.stream_id
    FOR UPDATE OF s
),
updated AS (
    UPDATE fintra_streams s SET version = s.version + w.count
    FROM wanted w
    WHERE s.stream_id = w.stream_id AND s.tenant_id = w.tenant_id
      AND s.stream_id IN (SELECT stream_id FROM locked)
    RETURNING s.stream_id, s.tenant_id, s.version
),
inserted AS (
    INSERT INTO fintra_streams (stream_id, tenant_id, version)
    SELECT w.stream_id, w.tenant_id, w.count FROM wanted w
    WHERE NOT EXISTS (SELECT 1 FROM locked l WHERE l.stream_id = w.stream_id)
    ORDER BY w.stream_id
    ON CONFLICT (stream_id) DO NOTHING
    RETURNING stream_id, tenant_id, version
)
SELECT stream_id, tenant_id, version FROM updated
UNION ALL
SELECT stream_id, tenant_id, version FROM inserted
