-- Tenant isolation keyed on the session setting fintra.tenant_id. Table owners and superusers
-- bypass row-level security: applications must connect as (or SET ROLE to) another role.
ALTER TABLE fintra_events ENABLE ROW LEVEL SECURITY;
ALTER TABLE fintra_streams ENABLE ROW LEVEL SECURITY;
DROP POLICY IF EXISTS fintra_tenant_isolation ON fintra_events;
DROP POLICY IF EXISTS fintra_tenant_isolation ON fintra_streams;
CREATE POLICY fintra_tenant_isolation ON fintra_events
    USING (tenant_id = current_setting('fintra.tenant_id', true))
    WITH CHECK (tenant_id = current_setting('fintra.tenant_id', true));
CREATE POLICY fintra_tenant_isolation ON fintra_streams
    USING (tenant_id = current_setting('fintra.tenant_id', true))
    WITH CHECK (tenant_id = current_setting('fintra.tenant_id', true));
