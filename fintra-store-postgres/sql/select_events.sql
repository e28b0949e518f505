SELECT position, event_id, stream_id, stream_version, tenant_id, event_type, schema_version,
       recorded_at, occurred_at, correlation_id, causation_id, actor, headers, content_type, payload
FROM fintra_events
