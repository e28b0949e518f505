-- Tenant isolation for the store's tables, keyed on fintra_session_tenant(): the tenant bound to
-- the session's login role in fintra_tenant_roles, else the setting fintra.tenant_id. Table
-- owners and superusers bypass row-level security: tenants connect as other roles.
-- Idempotent. {tenant_tables} lists the tables with a tenant_id column.
DO $do$
DECLARE
    t text;
BEGIN
    FOREACH t IN ARRAY ARRAY[{tenant_tables}] LOOP
        EXECUTE format('ALTER TABLE %I ENABLE ROW LEVEL SECURITY', t);
        EXECUTE format('DROP POLICY IF EXISTS fintra_tenant_isolation ON %I', t);
        EXECUTE format(
            'CREATE POLICY fintra_tenant_isolation ON %I '
            'USING (tenant_id = (SELECT fintra_session_tenant())) '
            'WITH CHECK (tenant_id = (SELECT fintra_session_tenant()))', t);
    END LOOP;
END
$do$;
-- No policy: nobody but the owner sees or changes the bindings, whatever is granted.
ALTER TABLE fintra_tenant_roles ENABLE ROW LEVEL SECURITY;
