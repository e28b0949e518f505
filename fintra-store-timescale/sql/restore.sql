-- Writes archived events back as they were (positions, versions, recorded times), skipping
-- those already present; claims their ids and raises stream heads to the restored versions.
-- Reports rows inserted, streams whose head belongs to another tenant, and ids already claimed
-- by a different event.
WITH input AS (
    SELECT * FROM UNNEST($1::bigint[], $2::uuid[], $3::text[], $4::bigint[], $5::text[],
                         $6::text[], $7::int4[], $8::timestamptz[], $9::timestamptz[],
                         $10::uuid[], $11::uuid[], $12::text[], $13::jsonb[], $14::text[],
                         $15::bytea[])
        AS u(position, event_id, stream_id, stream_version, tenant_id, event_type,
             schema_version, recorded_at, occurred_at, correlation_id, causation_id, actor,
             headers, content_type, payload)
),
fresh AS (
    SELECT input.* FROM input
    WHERE NOT EXISTS (SELECT 1 FROM fintra_events e WHERE e.position = input.position)
),
ins AS (
    INSERT INTO fintra_events (position, event_id, stream_id, stream_version, tenant_id,
        event_type, schema_version, recorded_at, occurred_at, correlation_id, causation_id,
        actor, headers, content_type, payload)
    SELECT position, event_id, stream_id, stream_version, tenant_id, event_type,
        schema_version, recorded_at, occurred_at, correlation_id, causation_id, actor, headers,
        content_type, payload
    FROM fresh
    RETURNING 1
),
ids AS (
    INSERT INTO fintra_event_ids (event_id, position)
    SELECT event_id, position FROM fresh
    ON CONFLICT (event_id) DO NOTHING
),
heads AS (
    INSERT INTO fintra_streams AS s (stream_id, tenant_id, version)
    SELECT stream_id, min(tenant_id), max(stream_version) FROM fresh GROUP BY stream_id
    ON CONFLICT (stream_id) DO UPDATE SET version = GREATEST(s.version, EXCLUDED.version)
        WHERE s.tenant_id = EXCLUDED.tenant_id
    RETURNING 1
)
SELECT (SELECT count(*) FROM ins) AS inserted,
       (SELECT count(DISTINCT stream_id) FROM fresh) - (SELECT count(*) FROM heads)
           AS refused_heads,
       (SELECT count(*) FROM fresh JOIN fintra_event_ids i USING (event_id)
        WHERE i.position <> fresh.position) AS clashing_ids
