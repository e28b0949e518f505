//! Wrapped keys in PostgreSQL, under the same row-level security as the event store's tables.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use fintra_core::TenantId;
use sqlx::{PgPool, Row};

use super::{KeyState, KeyStore, SubjectId, WrappedKey};
use crate::GuardError;

/// The key table's DDL: one row per (tenant, subject); a shredded row keeps no key material.
const DDL: &str = "
CREATE TABLE IF NOT EXISTS fintra_subject_keys (
    tenant_id          text        NOT NULL,
    subject            text        NOT NULL,
    key_id             bytea,
    tenant_key_version integer,
    wrapped            bytea,
    created_at         timestamptz NOT NULL,
    shredded_at        timestamptz,
    PRIMARY KEY (tenant_id, subject),
    CHECK ((shredded_at IS NULL) = (wrapped IS NOT NULL AND key_id IS NOT NULL))
);
ALTER TABLE fintra_subject_keys ENABLE ROW LEVEL SECURITY;
DROP POLICY IF EXISTS fintra_tenant_isolation ON fintra_subject_keys;
CREATE POLICY fintra_tenant_isolation ON fintra_subject_keys
    USING (tenant_id = (SELECT fintra_session_tenant()))
    WITH CHECK (tenant_id = (SELECT fintra_session_tenant()));
";

/// Wrapped data keys in the table `fintra_subject_keys` of the event store's schema, which must
/// be migrated first (the row-level-security policy uses its `fintra_session_tenant()`): a
/// session sees and changes only its tenant's keys — the tenant of its bound login role, else the
/// setting `fintra.tenant_id`, which every call of this store sets for its own transaction.
/// Table owners bypass row-level security; give tenants' sessions other roles.
///
/// After a shred, the row keeps no key material; the old row version stays in the table's pages
/// until `VACUUM` (and in WAL until the segment is recycled): docs/guard.md.
#[derive(Clone, Debug)]
pub struct PgKeyStore {
    pool: PgPool,
}

fn store_error(error: sqlx::Error) -> GuardError {
    GuardError::KeyStore(error.to_string())
}

impl PgKeyStore {
    /// A key store on `pool` (connected to the event store's schema).
    pub fn new(pool: PgPool) -> Self {
        Self { pool }
    }

    /// Creates the table and its row-level-security policy (idempotent). Run it as the tables'
    /// owner, after the event store's migration.
    ///
    /// # Errors
    /// [`GuardError::KeyStore`].
    pub async fn migrate(&self) -> Result<(), GuardError> {
        sqlx::raw_sql(DDL).execute(&self.pool).await.map_err(store_error)?;
        Ok(())
    }

    /// Lets `role` (a tenant's login role, bound with the event store's `bind_tenant_role`) read
    /// and write its tenant's keys, nothing more.
    ///
    /// # Errors
    /// [`GuardError::KeyStore`]; a role name that is not a plain identifier.
    pub async fn grant_to(&self, role: &str) -> Result<(), GuardError> {
        let plain = !role.is_empty()
            && role.len() <= 63
            && role.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
        if !plain {
            return Err(GuardError::KeyStore("role: letters, digits and _ only".to_owned()));
        }
        sqlx::raw_sql(&format!("GRANT SELECT, INSERT, UPDATE ON fintra_subject_keys TO {role}"))
            .execute(&self.pool)
            .await
            .map_err(store_error)?;
        Ok(())
    }

    async fn begin(
        &self,
        tenant: &TenantId,
    ) -> Result<sqlx::Transaction<'static, sqlx::Postgres>, GuardError> {
        let mut tx = self.pool.begin().await.map_err(store_error)?;
        sqlx::query("SELECT set_config('fintra.tenant_id', $1, true)")
            .bind(tenant.as_str())
            .execute(&mut *tx)
            .await
            .map_err(store_error)?;
        Ok(tx)
    }
}

fn state_of(
    row: &sqlx::postgres::PgRow,
    tenant: &TenantId,
    subject: &SubjectId,
) -> Result<KeyState, GuardError> {
    let shredded: Option<DateTime<Utc>> = row.try_get("shredded_at").map_err(store_error)?;
    if let Some(at) = shredded {
        return Ok(KeyState::Shredded { at });
    }
    let key_id: Vec<u8> = row.try_get("key_id").map_err(store_error)?;
    let version: i32 = row.try_get("tenant_key_version").map_err(store_error)?;
    Ok(KeyState::Active(WrappedKey {
        tenant: tenant.clone(),
        subject: subject.clone(),
        key_id: key_id
            .try_into()
            .map_err(|_| GuardError::KeyStore("key_id is not 16 bytes".into()))?,
        tenant_key_version: u32::try_from(version)
            .map_err(|_| GuardError::KeyStore("negative key version".into()))?,
        wrapped: row.try_get("wrapped").map_err(store_error)?,
        created_at: row.try_get("created_at").map_err(store_error)?,
    }))
}

const SELECT: &str = "SELECT key_id, tenant_key_version, wrapped, created_at, shredded_at \
                      FROM fintra_subject_keys WHERE tenant_id = $1 AND subject = $2";

fn version_i32(version: u32) -> Result<i32, GuardError> {
    i32::try_from(version).map_err(|_| GuardError::KeyStore("key version above i32::MAX".into()))
}

#[async_trait]
impl KeyStore for PgKeyStore {
    async fn get(
        &self,
        tenant: &TenantId,
        subject: &SubjectId,
    ) -> Result<Option<KeyState>, GuardError> {
        let mut tx = self.begin(tenant).await?;
        let row = sqlx::query(SELECT)
            .bind(tenant.as_str())
            .bind(subject.as_str())
            .fetch_optional(&mut *tx)
            .await
            .map_err(store_error)?;
        tx.commit().await.map_err(store_error)?;
        row.map(|r| state_of(&r, tenant, subject)).transpose()
    }

    async fn insert(&self, key: WrappedKey) -> Result<KeyState, GuardError> {
        let mut tx = self.begin(&key.tenant).await?;
        sqlx::query(
            "INSERT INTO fintra_subject_keys \
             (tenant_id, subject, key_id, tenant_key_version, wrapped, created_at) \
             VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (tenant_id, subject) DO NOTHING",
        )
        .bind(key.tenant.as_str())
        .bind(key.subject.as_str())
        .bind(key.key_id.as_slice())
        .bind(version_i32(key.tenant_key_version)?)
        .bind(&key.wrapped)
        .bind(key.created_at)
        .execute(&mut *tx)
        .await
        .map_err(store_error)?;
        let row = sqlx::query(SELECT)
            .bind(key.tenant.as_str())
            .bind(key.subject.as_str())
            .fetch_one(&mut *tx)
            .await
            .map_err(store_error)?;
        tx.commit().await.map_err(store_error)?;
        state_of(&row, &key.tenant, &key.subject)
    }

    async fn shred(
        &self,
        tenant: &TenantId,
        subject: &SubjectId,
        at: DateTime<Utc>,
    ) -> Result<bool, GuardError> {
        let mut tx = self.begin(tenant).await?;
        let erased = sqlx::query(
            "UPDATE fintra_subject_keys SET key_id = NULL, tenant_key_version = NULL, wrapped = NULL, \
             shredded_at = $3 WHERE tenant_id = $1 AND subject = $2 AND shredded_at IS NULL",
        )
        .bind(tenant.as_str())
        .bind(subject.as_str())
        .bind(at)
        .execute(&mut *tx)
        .await
        .map_err(store_error)?
        .rows_affected();
        // A subject that never had a key gets a tombstone too: nothing may be sealed for it.
        sqlx::query(
            "INSERT INTO fintra_subject_keys (tenant_id, subject, created_at, shredded_at) \
             VALUES ($1, $2, $3, $3) ON CONFLICT (tenant_id, subject) DO NOTHING",
        )
        .bind(tenant.as_str())
        .bind(subject.as_str())
        .bind(at)
        .execute(&mut *tx)
        .await
        .map_err(store_error)?;
        tx.commit().await.map_err(store_error)?;
        Ok(erased == 1)
    }

    async fn rewrap(
        &self,
        expected: &WrappedKey,
        replacement: WrappedKey,
    ) -> Result<bool, GuardError> {
        let mut tx = self.begin(&expected.tenant).await?;
        let updated = sqlx::query(
            "UPDATE fintra_subject_keys SET tenant_key_version = $5, wrapped = $6 \
             WHERE tenant_id = $1 AND subject = $2 AND key_id = $3 AND tenant_key_version = $4 \
             AND shredded_at IS NULL",
        )
        .bind(expected.tenant.as_str())
        .bind(expected.subject.as_str())
        .bind(expected.key_id.as_slice())
        .bind(version_i32(expected.tenant_key_version)?)
        .bind(version_i32(replacement.tenant_key_version)?)
        .bind(&replacement.wrapped)
        .execute(&mut *tx)
        .await
        .map_err(store_error)?
        .rows_affected();
        tx.commit().await.map_err(store_error)?;
        Ok(updated == 1)
    }

    async fn wrapped_before(
        &self,
        tenant: &TenantId,
        version: u32,
        limit: usize,
    ) -> Result<Vec<WrappedKey>, GuardError> {
        let mut tx = self.begin(tenant).await?;
        let rows = sqlx::query(
            "SELECT subject, key_id, tenant_key_version, wrapped, created_at, shredded_at \
             FROM fintra_subject_keys WHERE tenant_id = $1 AND shredded_at IS NULL \
             AND tenant_key_version < $2 ORDER BY subject LIMIT $3",
        )
        .bind(tenant.as_str())
        .bind(version_i32(version)?)
        .bind(i64::try_from(limit).unwrap_or(i64::MAX))
        .fetch_all(&mut *tx)
        .await
        .map_err(store_error)?;
        tx.commit().await.map_err(store_error)?;
        let mut out = Vec::with_capacity(rows.len());
        for row in rows {
            let subject: String = row.try_get("subject").map_err(store_error)?;
            let subject = SubjectId::new(subject)?;
            if let KeyState::Active(key) = state_of(&row, tenant, &subject)? {
                out.push(key);
            }
        }
        Ok(out)
    }
}
