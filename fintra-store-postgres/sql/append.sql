-- One atomic append: reserve the versions on the stream's head row (the head CTE, which
-- returns no row when the expected version or tenant does not match), then insert every event
-- with one UNNEST. Positions continue this transaction's range: xid8 * 2^20 + n. Inside a
-- caller's transaction `last` probes for the range's highest position so far; on a pooled
-- connection the statement is its own transaction, the range is empty, and the probe is left out.
WITH {head},
txn AS (
    SELECT pg_current_xact_id()::text::bigint << 20 AS lo
),
last AS (
    {last}
),
ins AS (
    INSERT INTO fintra_events (
        position, event_id, stream_id, stream_version, tenant_id, event_type, schema_version,
        occurred_at, correlation_id, causation_id, actor, headers, content_type, payload)
    SELECT last.position + e.n, e.event_id, $1, head.version - $3 + e.n, $2, e.event_type,
        e.schema_version, e.occurred_at, e.correlation_id, e.causation_id, e.actor, e.headers,
        e.content_type, e.payload
    FROM head, last,
        UNNEST($5::uuid[], $6::text[], $7::int4[], $8::timestamptz[], $9::uuid[], $10::uuid[],
               $11::text[], $12::jsonb[], $13::text[], $14::bytea[])
        WITH ORDINALITY AS e(event_id, event_type, schema_version, occurred_at, correlation_id,
                             causation_id, actor, headers, content_type, payload, n)
    WHERE last.position + e.n < last.lo + 1048576
    RETURNING position, stream_version, event_id
){ids}{notify}
SELECT count(*) AS inserted, min(position) AS first_position, max(position) AS last_position,
       min(stream_version) AS first_version, max(stream_version) AS last_version,
       (SELECT last.position - last.lo FROM last) AS range_used{notify_column}
FROM ins
