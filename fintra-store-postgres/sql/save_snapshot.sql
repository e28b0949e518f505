INSERT INTO fintra_snapshots AS s (stream_id, version, schema_version, occurred_at, state)
VALUES ($1, $2, $3, $4, $5)
ON CONFLICT (stream_id) DO UPDATE
    SET version = EXCLUDED.version, schema_version = EXCLUDED.schema_version,
        occurred_at = EXCLUDED.occurred_at, state = EXCLUDED.state, saved_at = now()
    WHERE s.version < EXCLUDED.version
