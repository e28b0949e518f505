-- Snapshots carry their stream's tenant, so row-level security covers them like events and
-- stream heads (a tenant could read, and overwrite, another tenant's snapshot before).
ALTER TABLE fintra_snapshots ADD COLUMN tenant_id text;
UPDATE fintra_snapshots AS s SET tenant_id = h.tenant_id
FROM fintra_streams AS h WHERE h.stream_id = s.stream_id;
-- A snapshot of no stream cannot be loaded by anyone's events: a cache entry, safe to drop.
DELETE FROM fintra_snapshots WHERE tenant_id IS NULL;
ALTER TABLE fintra_snapshots ALTER COLUMN tenant_id SET NOT NULL;
-- A snapshot belongs to its stream's tenant: a session cannot file one under its own tenant for
-- another tenant's stream (which would block that tenant's own saves). The check reads the
-- stream head with the session's own rights, so under row-level security a tenant finds only
-- its own heads. (A composite foreign key would need a second unique index on fintra_streams,
-- and ON CONFLICT (stream_id) does not arbitrate a race on that one: concurrent first appends
-- to one stream then fail with a unique violation.)
CREATE FUNCTION fintra_snapshot_matches_stream() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF NOT EXISTS (SELECT 1 FROM fintra_streams
                   WHERE stream_id = NEW.stream_id AND tenant_id = NEW.tenant_id) THEN
        RAISE EXCEPTION USING
            ERRCODE = 'foreign_key_violation',
            MESSAGE = 'a snapshot must belong to a stream of its tenant',
            CONSTRAINT = 'fintra_snapshots_stream_check';
    END IF;
    RETURN NEW;
END
$$;
CREATE TRIGGER fintra_snapshots_stream_check BEFORE INSERT OR UPDATE ON fintra_snapshots
    FOR EACH ROW EXECUTE FUNCTION fintra_snapshot_matches_stream();
-- Resolve fintra_streams in this schema whatever the session's search_path says (a session's
-- temporary tables come first on its path unless pg_temp is named last).
DO $do$
BEGIN
    EXECUTE format(
        'ALTER FUNCTION fintra_snapshot_matches_stream() SET search_path = pg_catalog, %I, pg_temp',
        current_schema());
END
$do$;
