-- Group commit: appends to distinct streams in one statement and one transaction. Each request
-- reserves its version range on its head row (UPDATE for existing streams, INSERT for new ones);
-- a request whose head does not match (expected version, tenant) gets no row in `head` and none
-- of its events are inserted; the caller then appends it on its own, through the normal path.
WITH req AS (
    SELECT * FROM UNNEST($1::text[], $2::text[], $3::bigint[], $4::bigint[])
        WITH ORDINALITY AS r(stream_id, tenant_id, n, expected, idx)
),
upd AS (
    UPDATE fintra_streams AS s SET version = s.version + req.n
    FROM req
    WHERE s.stream_id = req.stream_id AND s.tenant_id = req.tenant_id
      AND req.expected <> 0 AND (req.expected = -1 OR s.version = req.expected)
    RETURNING req.idx, s.version
),
ins AS (
    INSERT INTO fintra_streams (stream_id, tenant_id, version)
    SELECT req.stream_id, req.tenant_id, req.n FROM req
    WHERE req.expected IN (-1, 0)
      AND NOT EXISTS (SELECT 1 FROM fintra_streams AS s WHERE s.stream_id = req.stream_id)
    ON CONFLICT (stream_id) DO NOTHING
    RETURNING stream_id, version
),
head AS (
    SELECT idx, version FROM upd
    UNION ALL
    SELECT req.idx, ins.version FROM ins JOIN req USING (stream_id)
),
txn AS (
    SELECT pg_current_xact_id()::text::bigint << 20 AS lo
),
ev AS (
    SELECT e.*, req.stream_id AS sid, req.tenant_id AS tid, head.version - req.n + e.k AS version,
           row_number() OVER (ORDER BY e.req, e.k) AS ord
    FROM UNNEST($5::bigint[], $6::bigint[], $7::uuid[], $8::text[], $9::int4[],
                $10::timestamptz[], $11::uuid[], $12::uuid[], $13::text[], $14::jsonb[],
                $15::text[], $16::bytea[])
        AS e(req, k, event_id, event_type, schema_version, occurred_at, correlation_id,
             causation_id, actor, headers, content_type, payload)
    JOIN head ON head.idx = e.req
    JOIN req ON req.idx = e.req
),
inserted AS (
    INSERT INTO fintra_events (
        position, event_id, stream_id, stream_version, tenant_id, event_type, schema_version,
        occurred_at, correlation_id, causation_id, actor, headers, content_type, payload)
    SELECT txn.lo + ev.ord, ev.event_id, ev.sid, ev.version, ev.tid, ev.event_type,
           ev.schema_version, ev.occurred_at, ev.correlation_id, ev.causation_id, ev.actor,
           ev.headers, ev.content_type, ev.payload
    FROM ev, txn
    RETURNING stream_id, position, stream_version
){notify}
SELECT stream_id, min(position) AS first_position, max(position) AS last_position,
       min(stream_version) AS first_version, max(stream_version) AS last_version{notify_column}
FROM inserted
GROUP BY stream_id
