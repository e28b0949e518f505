//! Tenant isolation: row-level security on every table that holds tenant data, login roles
//! bound to one tenant, and the shared functions each fintra event schema carries.

use fintra_core::{Error, Result, TenantId};
use sqlx::{Executor, PgConnection, Row};

use crate::conn::Checkout;
use crate::error::backend;
use crate::store::valid_role;
use crate::{EventLayout, PgEventStore};

/// The tables of a layout that carry `tenant_id` (row-level security keys on it), and what a
/// tenant's role may do with each.
fn tenant_tables(layout: EventLayout) -> &'static [(&'static str, &'static str)] {
    match layout {
        EventLayout::Single => &[
            ("fintra_events", "SELECT, INSERT"),
            ("fintra_streams", "SELECT, INSERT, UPDATE"),
            ("fintra_snapshots", "SELECT, INSERT, UPDATE"),
        ],
        EventLayout::Partitioned => {
            &[("fintra_events", "SELECT, INSERT"), ("fintra_streams", "SELECT, INSERT, UPDATE")]
        }
    }
}

/// Tables a tenant's role may write but never read.
fn write_only_tables(layout: EventLayout) -> &'static [&'static str] {
    match layout {
        EventLayout::Single => &[],
        // The id claims of the partitioned layout carry no tenant: appends insert into it, and
        // only the owner's fintra_recorded_event_ids() reads it.
        EventLayout::Partitioned => &["fintra_event_ids"],
    }
}

/// The shared functions and the tenant-role table for `layout` (sql/shared.sql). Idempotent.
pub(crate) fn shared_schema_sql(layout: EventLayout) -> String {
    let recorded_ids = match layout {
        EventLayout::Single => {
            "SELECT e.event_id, e.position FROM fintra_events e WHERE e.event_id = ANY(ids)"
        }
        EventLayout::Partitioned => {
            "SELECT i.event_id, i.position FROM fintra_event_ids i WHERE i.event_id = ANY(ids)"
        }
    };
    include_str!("../sql/shared.sql").replace("{recorded_ids}", recorded_ids)
}

/// Row-level security for `layout`'s tables (sql/enable_rls.sql). Idempotent.
pub(crate) fn enable_rls_sql(layout: EventLayout) -> String {
    let tables: Vec<String> =
        tenant_tables(layout).iter().map(|(table, _)| format!("'{table}'")).collect();
    include_str!("../sql/enable_rls.sql").replace("{tenant_tables}", &tables.join(", "))
}

/// One session whose open transaction holds back the gap-safe horizon of every global-log
/// reader ([`PgEventStore::horizon_holders`]).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct HorizonHolder {
    /// The server process id (for `pg_terminate_backend`).
    pub pid: i32,
    /// The session's login role.
    pub role: String,
    /// The client's `application_name`.
    pub application_name: String,
    /// `active`, `idle in transaction`, …
    pub state: String,
    /// How long its transaction has been open, in milliseconds.
    pub transaction_ms: u64,
}

impl PgEventStore {
    /// Turns on row-level security for the store's tenant data — events, stream heads and
    /// snapshots — keyed on the session's tenant: the tenant bound to its login role
    /// ([`PgEventStore::bind_tenant_role`]), else the setting `fintra.tenant_id`
    /// ([`PgStoreOptions::session_tenant`](crate::PgStoreOptions::session_tenant)). The
    /// bindings table is closed to everyone but its owner. Idempotent.
    ///
    /// Owners and superusers bypass row-level security: tenants connect as other roles.
    ///
    /// # Errors
    /// `Backend`.
    pub async fn enable_row_level_security(&self) -> Result<()> {
        sqlx::raw_sql(&enable_rls_sql(self.layout()))
            .execute(self.pool())
            .await
            .map_err(backend)?;
        Ok(())
    }

    /// Binds the existing PostgreSQL role `role` to `tenant` and grants it what a tenant's
    /// sessions need on this schema: reading and appending its own events, stream heads and
    /// snapshots, nothing else. Run it as the tables' owner. Idempotent; a second call moves
    /// the role to the new tenant.
    ///
    /// A session that logs in as a bound role belongs to its tenant whatever SQL it runs:
    /// row-level security keys on `session_user`, which neither `SET ROLE` nor any setting
    /// changes. This is the setup for tenants that get database connections of their own; a
    /// trusted application that serves many tenants on one role uses `session_tenant` instead.
    ///
    /// # Errors
    /// `InvalidInput` for a role name that is not a plain identifier, `Backend` (for instance
    /// when the role does not exist).
    pub async fn bind_tenant_role(&self, role: &str, tenant: &TenantId) -> Result<()> {
        if !valid_role(role) {
            return Err(Error::invalid("role", "letters, digits and _ only (at most 63)"));
        }
        let mut conn = Checkout::acquire(self.pool()).await?;
        let outcome = bind_role(&mut conn, self.layout(), role, tenant).await;
        conn.finish(&outcome);
        outcome
    }

    /// Sessions whose writing transactions have been open longer than `older_than_ms`: each
    /// holds back every global-log reader on the server until it ends (the price of gap-safe
    /// order, ADR 0001). End one with `SELECT pg_terminate_backend(pid)`; a tenant's role can
    /// be given `idle_in_transaction_session_timeout`. Seeing other roles' sessions needs the
    /// `pg_read_all_stats` role or superuser.
    ///
    /// # Errors
    /// `Backend`.
    pub async fn horizon_holders(&self, older_than_ms: u64) -> Result<Vec<HorizonHolder>> {
        let older_than = crate::error::to_i64("older_than_ms", older_than_ms)?;
        let rows = sqlx::query(
            "SELECT pid, usename::text AS role, application_name, state, \
                    (extract(epoch FROM clock_timestamp() - xact_start) * 1000)::bigint AS ms \
             FROM pg_stat_activity \
             WHERE backend_xid IS NOT NULL AND pid <> pg_backend_pid() \
               AND xact_start < clock_timestamp() - make_interval(secs => $1 / 1000.0) \
             ORDER BY xact_start",
        )
        .bind(older_than)
        .fetch_all(self.pool())
        .await
        .map_err(backend)?;
        rows.iter()
            .map(|row| {
                let get_text = |name: &str| -> Result<String> {
                    Ok(row.try_get::<Option<String>, _>(name).map_err(backend)?.unwrap_or_default())
                };
                let ms: i64 = row.try_get("ms").map_err(backend)?;
                Ok(HorizonHolder {
                    pid: row.try_get("pid").map_err(backend)?,
                    role: get_text("role")?,
                    application_name: get_text("application_name")?,
                    state: get_text("state")?,
                    transaction_ms: u64::try_from(ms).unwrap_or(0),
                })
            })
            .collect()
    }
}

async fn bind_role(
    conn: &mut PgConnection,
    layout: EventLayout,
    role: &str,
    tenant: &TenantId,
) -> Result<()> {
    let schema: String =
        conn.fetch_one("SELECT current_schema()::text").await.map_err(backend)?.get(0);
    let schema = schema.replace('"', "\"\"");
    let mut grants = format!("GRANT USAGE ON SCHEMA \"{schema}\" TO \"{role}\";\n");
    for (table, privileges) in tenant_tables(layout) {
        grants.push_str(&format!("GRANT {privileges} ON {table} TO \"{role}\";\n"));
    }
    for table in write_only_tables(layout) {
        grants.push_str(&format!("GRANT INSERT ON {table} TO \"{role}\";\n"));
    }
    sqlx::raw_sql(&grants).execute(&mut *conn).await.map_err(backend)?;
    sqlx::query(
        "INSERT INTO fintra_tenant_roles (role_name, tenant_id) VALUES ($1, $2) \
         ON CONFLICT (role_name) DO UPDATE SET tenant_id = EXCLUDED.tenant_id",
    )
    .bind(role)
    .bind(tenant.as_str())
    .execute(&mut *conn)
    .await
    .map_err(backend)?;
    Ok(())
}
