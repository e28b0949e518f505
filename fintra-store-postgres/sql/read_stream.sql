-- One page of a stream, bounded by events and by payload bytes (the page ends with the event
-- that brings it to $6 bytes or more).
SELECT position, event_id, stream_id, stream_version, tenant_id, event_type, schema_version,
       recorded_at, occurred_at, correlation_id, causation_id, actor, headers, content_type,
       payload
FROM (
    SELECT e.*,
           sum(octet_length(e.payload)) OVER (ORDER BY e.stream_version ROWS UNBOUNDED PRECEDING)
               - octet_length(e.payload) AS bytes_before
    FROM fintra_events e
    WHERE e.stream_id = $1 AND e.stream_version >= $2
      AND ($3::timestamptz IS NULL OR e.recorded_at <= $3)
      AND ($4::timestamptz IS NULL OR e.occurred_at <= $4)
    ORDER BY e.stream_version
    LIMIT $5
) AS page
WHERE page.bytes_before < $6
ORDER BY page.stream_version
