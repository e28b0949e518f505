-- Snapshots carry their stream's tenant, so row-level security covers them like events and
-- stream heads (a tenant could read, and overwrite, another tenant's snapshot before).
ALTER TABLE fintra_snapshots ADD COLUMN tenant_id text;
UPDATE fintra_snapshots AS s SET tenant_id = h.tenant_id
FROM fintra_streams AS h WHERE h.stream_id = s.stream_id;
-- A snapshot of no stream cannot be loaded by anyone's events: a cache entry, safe to drop.
DELETE FROM fintra_snapshots WHERE tenant_id IS NULL;
ALTER TABLE fintra_snapshots ALTER COLUMN tenant_id SET NOT NULL;
-- A snapshot belongs to its stream's tenant: a session cannot file one under its own tenant for
-- another tenant's stream (which would block that tenant's own snapshots). Key checks ignore
-- row-level security, so this holds whatever the session can see.
ALTER TABLE fintra_streams ADD CONSTRAINT fintra_streams_tenant_key UNIQUE (stream_id, tenant_id);
ALTER TABLE fintra_snapshots ADD CONSTRAINT fintra_snapshots_stream_fkey
    FOREIGN KEY (stream_id, tenant_id) REFERENCES fintra_streams (stream_id, tenant_id);
