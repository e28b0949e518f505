-- Group commit: the appends of several streams (at most one request per stream) in one
-- statement and one commit. Each request reserves its versions on its own head row, under the
-- same rules as the single-stream statement; a request whose head refuses inserts nothing and
-- reports 0 rows, and the caller answers it on its own. The statement is its transaction's
-- first (autocommit), so the transaction's position range is empty: positions are
-- xid8 * 2^20 + n over the whole batch, which keeps every stream's versions in position order.
-- kind: 0 = any version, 1 = no stream yet, 2 = exactly `expected`.
WITH req AS (
    -- Every other step joins `req`, so this runs before any lock is taken: the few waits left
    -- (an uncommitted head or event id of another transaction) give up after 100 ms instead of
    -- closing a deadlock cycle, the statement fails, and every request is retried on its own.
    SELECT * FROM UNNEST($1::text[], $2::text[], $3::int8[], $4::int8[], $5::int2[])
        WITH ORDINALITY AS r(stream_id, tenant_id, count, expected, kind, idx)
    WHERE set_config('lock_timeout', '100ms', true) IS NOT NULL
),
-- The batch does not wait for head rows while it holds others: a head row another transaction
-- holds is skipped (that request reports 0 rows and is retried on its own, where it may wait
-- holding nothing), and a new head is inserted only when no head is visible. What can still
-- wait (a head or event id another transaction inserted and has not committed) is bounded by
-- the lock timeout set in `req`.
locked AS (
    SELECT s.stream_id FROM fintra_streams s JOIN req ON req.stream_id = s.stream_id
    WHERE s.tenant_id = req.tenant_id
    FOR UPDATE OF s SKIP LOCKED
),
head_update AS (
    UPDATE fintra_streams s SET version = s.version + req.count
    FROM req
    WHERE s.stream_id = req.stream_id AND s.tenant_id = req.tenant_id
      AND s.stream_id IN (SELECT stream_id FROM locked)
      AND (req.kind = 0 OR (req.kind = 2 AND s.version = req.expected))
    RETURNING req.idx, s.version
),
head_insert AS (
    -- As in head_any.sql: a head the session cannot see is never updated through ON CONFLICT
    -- (row-level security would raise); a stream created concurrently inserts nothing here.
    INSERT INTO fintra_streams (stream_id, tenant_id, version)
    SELECT req.stream_id, req.tenant_id, req.count FROM req
    WHERE (req.kind = 1
           OR (req.kind = 0 AND NOT EXISTS (SELECT 1 FROM head_update h WHERE h.idx = req.idx)))
      AND NOT EXISTS (SELECT 1 FROM fintra_streams s WHERE s.stream_id = req.stream_id)
    ON CONFLICT (stream_id) DO NOTHING
    RETURNING stream_id, version
),
head AS (
    SELECT idx, version FROM head_update
    UNION ALL
    SELECT req.idx, i.version FROM head_insert i JOIN req ON req.stream_id = i.stream_id
),
txn AS (
    SELECT pg_current_xact_id()::text::bigint << 20 AS lo
),
ins AS (
    INSERT INTO fintra_events (
        position, event_id, stream_id, stream_version, tenant_id, event_type, schema_version,
        occurred_at, correlation_id, causation_id, actor, headers, content_type, payload)
    SELECT txn.lo + e.n, e.event_id, req.stream_id, head.version - req.count + e.k,
        req.tenant_id, e.event_type, e.schema_version, e.occurred_at, e.correlation_id,
        e.causation_id, e.actor, e.headers, e.content_type, e.payload
    FROM txn,
        UNNEST($6::int8[], $7::int8[], $8::uuid[], $9::text[], $10::int4[], $11::timestamptz[],
               $12::uuid[], $13::uuid[], $14::text[], $15::jsonb[], $16::text[], $17::bytea[])
        WITH ORDINALITY AS e(req, k, event_id, event_type, schema_version, occurred_at,
                             correlation_id, causation_id, actor, headers, content_type,
                             payload, n)
        JOIN head ON head.idx = e.req
        JOIN req ON req.idx = e.req
    RETURNING position, stream_id, stream_version, event_id
){ids}{notify}
SELECT req.idx, count(ins.position) AS inserted,
       min(ins.position) AS first_position, max(ins.position) AS last_position,
       min(ins.stream_version) AS first_version, max(ins.stream_version) AS last_version{notify_column}
FROM req LEFT JOIN ins ON ins.stream_id = req.stream_id
GROUP BY req.idx
ORDER BY req.idx
