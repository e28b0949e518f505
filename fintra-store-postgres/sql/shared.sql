-- What every fintra event schema has besides its tables — the hot store's and the warm store's
-- alike. Idempotent: run by every migrate(), after the schema's own tables exist.
--
-- {recorded_ids} is the query behind fintra_recorded_event_ids for the schema's layout.

-- Roles bound to one tenant. A session whose login role is listed here belongs to that tenant
-- whatever it sets: row-level security keys on session_user, which no SET can change. Sessions
-- of unlisted roles (a trusted application's) use the setting fintra.tenant_id.
CREATE TABLE IF NOT EXISTS fintra_tenant_roles (
    role_name  name PRIMARY KEY,
    tenant_id  text NOT NULL
);

-- The two functions below run with their owner's rights (so a tenant's session can resolve its
-- tenant and learn which of its own event ids are taken without reading the tables); their
-- search_path is pinned to pg_catalog first, then this schema, then pg_temp last, so nothing a
-- session creates can stand in for the objects they use.
DO $do$
BEGIN
    EXECUTE format($f$
        CREATE OR REPLACE FUNCTION fintra_session_tenant() RETURNS text
        LANGUAGE sql STABLE SECURITY DEFINER
        SET search_path = pg_catalog, %I, pg_temp
        AS $body$
            SELECT COALESCE(
                (SELECT r.tenant_id FROM fintra_tenant_roles r WHERE r.role_name = session_user),
                current_setting('fintra.tenant_id', true))
        $body$ $f$, current_schema());
    -- Which of these event ids are recorded, in any tenant, and at which positions. An id is a
    -- random UUIDv7 and the unique constraint already refuses a taken one, so this tells a
    -- tenant nothing it could not learn by appending; it lets the store answer DuplicateEventId
    -- instead of a misleading conflict, and find events by id where the events table has no
    -- id index (the partitioned layout) without granting reads of the id table.
    EXECUTE format($f$
        CREATE OR REPLACE FUNCTION fintra_recorded_event_ids(ids uuid[])
        RETURNS TABLE (event_id uuid, "position" bigint)
        LANGUAGE sql STABLE SECURITY DEFINER
        SET search_path = pg_catalog, %I, pg_temp
        AS $body$ {recorded_ids} $body$ $f$, current_schema());
END
$do$;

-- One page of the global log, gap-safe (only transactions older than every running one) and
-- bounded by events and by payload bytes: the page ends with the event that brings it to
-- bytes_max or more.
--
-- The plan stays an index range scan on position whatever the planner's statistics say: the
-- page is first the next events_max rows after after_position in position order, a condition
-- the planner estimates even on a table it has never analysed. The bounds it cannot estimate
-- are applied after that limit, each computed once (init plans): the snapshot bound (which
-- once made it choose a bitmap scan and an on-disk sort of every later row) and the byte bound.
-- Positions increase, so each keeps a prefix of the page: gap safety is unchanged. The price:
-- a reader that reaches a bound held back by a long transaction reads, once, the rows beyond
-- it up to the page size (stepping over that transaction's invisible rows) before it sees it is
-- caught up; from then on each poll is a one-time filter that scans nothing.
--
-- The byte bound is a running sum, and a window function makes the server copy every row of
-- the page into a buffer first: a quarter of a catch-up's time. So the page's payload bytes
-- are summed first from the same rows' lengths; only a page that reaches bytes_max runs the
-- running sum, over the lengths alone, to find where it ends. The function carries no settings,
-- so PostgreSQL inlines it into the caller's query instead of materialising its result.
CREATE OR REPLACE FUNCTION fintra_read_all(after_position bigint, events_max integer, bytes_max bigint)
RETURNS TABLE (
    "position" bigint, event_id uuid, stream_id text, stream_version bigint, tenant_id text,
    event_type text, schema_version integer, recorded_at timestamptz, occurred_at timestamptz,
    correlation_id uuid, causation_id uuid, actor text, headers jsonb, content_type text,
    payload bytea)
LANGUAGE sql STABLE
AS $body$
    SELECT page.position, page.event_id, page.stream_id, page.stream_version, page.tenant_id,
           page.event_type, page.schema_version, page.recorded_at, page.occurred_at,
           page.correlation_id, page.causation_id, page.actor, page.headers, page.content_type,
           page.payload
    FROM (
        SELECT * FROM fintra_events f
        WHERE f.position > after_position
          -- Caught up with the snapshot bound: no scan at all (a one-time filter), however
          -- many rows of running transactions lie beyond it.
          AND (SELECT pg_snapshot_xmin(pg_current_snapshot())::text::bigint << 20) - 1
              > after_position
        ORDER BY f.position
        LIMIT events_max
    ) AS page
    WHERE page.position < (SELECT pg_snapshot_xmin(pg_current_snapshot())::text::bigint << 20)
      AND page.position <= (SELECT CASE
          WHEN (SELECT sum(octet_length(s.payload)) FROM (
                    SELECT e.payload FROM fintra_events e
                    WHERE e.position > after_position
                    ORDER BY e.position
                    LIMIT events_max) AS s) < bytes_max
          THEN 9223372036854775807
          ELSE (SELECT max(w.position) FROM (
                    SELECT s.position,
                           sum(s.len) OVER (ORDER BY s.position ROWS UNBOUNDED PRECEDING)
                               - s.len AS bytes_before
                    FROM (
                        SELECT e.position, octet_length(e.payload) AS len FROM fintra_events e
                        WHERE e.position > after_position
                        ORDER BY e.position
                        LIMIT events_max) AS s) AS w
                WHERE w.bytes_before < bytes_max)
          END)
    ORDER BY page.position
$body$;
