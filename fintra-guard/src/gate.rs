//! The consent registry, and reads that check it on every call.

use std::sync::Arc;

use chrono::{DateTime, Utc};
use fintra_core::{
    Clock, EventMetadata, EventStore, ExecuteError, Repository, StreamId, SystemClock, TenantId,
};

use crate::consent::{ConsentCommand, ConsentDenied, ConsentGrant, ConsentRejection, Scope};

/// Who reads: an app, service or AI agent of a tenant.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Accessor {
    /// Its id (`budgeting-app`, `agent:advisor`).
    pub id: String,
    /// The tenant it acts for.
    pub tenant: TenantId,
}

/// Why a guarded read was refused, or could not be checked.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum AccessError {
    /// The consent does not cover it.
    #[error(transparent)]
    Denied(#[from] ConsentDenied),
    /// The grants or the data could not be read.
    #[error(transparent)]
    Store(#[from] fintra_core::Error),
}

/// The stream of the grant `accessor` holds over `profile_id` of `tenant`: one per triple, named
/// by a hash so that ids with any characters make a valid stream name.
///
/// # Errors
/// Never in practice (the name is always valid); `InvalidInput` otherwise.
pub fn consent_stream(
    tenant: &TenantId,
    profile_id: &str,
    accessor: &str,
) -> fintra_core::Result<StreamId> {
    use sha2::Digest as _;
    let digest =
        sha2::Sha256::digest(format!("{}\u{0}{profile_id}\u{0}{accessor}", tenant.as_str()));
    let mut bytes = [0u8; 16];
    bytes.copy_from_slice(&digest[..16]);
    StreamId::for_aggregate("Consent", uuid::Builder::from_custom_bytes(bytes).into_uuid())
}

/// Grants, reconfirmations and revocations as events (`Consent-…` streams), and the check every
/// guarded read makes: is the grant active **now**, and does it hold the scope? An expiry or a
/// revocation takes effect on the next call; nothing is cached.
pub struct ConsentRegistry<S> {
    grants: Repository<ConsentGrant, S>,
    clock: Arc<dyn Clock>,
}

impl<S> std::fmt::Debug for ConsentRegistry<S> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ConsentRegistry").finish_non_exhaustive()
    }
}

impl<S: EventStore> ConsentRegistry<S> {
    /// Grants kept in `store`, checked against the system clock.
    pub fn new(store: S) -> Self {
        Self::with_clock(store, Arc::new(SystemClock))
    }

    /// Grants kept in `store`, checked against `clock`.
    pub fn with_clock(store: S, clock: Arc<dyn Clock>) -> Self {
        Self { grants: Repository::new(store).with_clock(clock.clone()), clock }
    }

    /// Grants `scopes` of `profile_id`'s data to `accessor` from `valid_from` to `expires_at`.
    ///
    /// # Errors
    /// The grant's rejection (an active grant exists, no scopes, an empty window), store errors.
    pub async fn grant(
        &self,
        accessor: &Accessor,
        profile_id: &str,
        scopes: &[Scope],
        valid_from: DateTime<Utc>,
        expires_at: DateTime<Utc>,
        metadata: &EventMetadata,
    ) -> Result<String, ExecuteError<ConsentRejection>> {
        let stream = consent_stream(&accessor.tenant, profile_id, &accessor.id)?;
        let command = ConsentCommand::Grant {
            consent_id: stream.as_str().to_owned(),
            profile_id: profile_id.to_owned(),
            tenant_id: accessor.tenant.as_str().to_owned(),
            accessor: accessor.id.clone(),
            scopes: scopes.to_vec(),
            valid_from,
            expires_at,
        };
        self.grants.execute(&stream, &command, metadata).await?;
        Ok(stream.as_str().to_owned())
    }

    /// The person confirms the grant again (the 90-day rule).
    ///
    /// # Errors
    /// No grant, a revoked grant, store errors.
    pub async fn reconfirm(
        &self,
        accessor: &Accessor,
        profile_id: &str,
        metadata: &EventMetadata,
    ) -> Result<(), ExecuteError<ConsentRejection>> {
        let stream = consent_stream(&accessor.tenant, profile_id, &accessor.id)?;
        self.grants.execute(&stream, &ConsentCommand::Reconfirm, metadata).await?;
        Ok(())
    }

    /// The person revokes the grant; the next guarded call is refused.
    ///
    /// # Errors
    /// No grant, already revoked, store errors.
    pub async fn revoke(
        &self,
        accessor: &Accessor,
        profile_id: &str,
        reason: &str,
        metadata: &EventMetadata,
    ) -> Result<(), ExecuteError<ConsentRejection>> {
        let stream = consent_stream(&accessor.tenant, profile_id, &accessor.id)?;
        let command = ConsentCommand::Revoke { reason: reason.to_owned() };
        self.grants.execute(&stream, &command, metadata).await?;
        Ok(())
    }

    /// The grant `accessor` holds over `profile_id` (an empty grant when there is none).
    ///
    /// # Errors
    /// Store errors.
    pub async fn grant_of(
        &self,
        accessor: &Accessor,
        profile_id: &str,
    ) -> fintra_core::Result<ConsentGrant> {
        let stream = consent_stream(&accessor.tenant, profile_id, &accessor.id)?;
        Ok(self.grants.load(&stream).await?.state)
    }

    /// Checks, now, that `accessor` may use `scope` on `profile_id`'s data.
    ///
    /// # Errors
    /// [`AccessError::Denied`] naming the scope and the grant's status; store errors.
    pub async fn require(
        &self,
        accessor: &Accessor,
        profile_id: &str,
        scope: Scope,
    ) -> Result<ConsentGrant, AccessError> {
        let mut grant = self.grant_of(accessor, profile_id).await?;
        if grant.consent_id.is_empty() {
            grant.accessor.clone_from(&accessor.id);
        }
        grant.check(scope, self.clock.now())?;
        Ok(grant)
    }

    /// AI context scoping (spec §4.11): of the profiles linked to one person across tenants,
    /// those `accessor` may put in a model's context. With `READ_GLOBAL_PROFILE` every linked
    /// profile; without it only those of the accessor's own tenant — the hard tenant filter.
    /// The grant checked is the one over `profile_id`, which needs at least one read scope.
    ///
    /// # Errors
    /// As [`ConsentRegistry::require`] (for `READ_ACCOUNTS`).
    pub async fn context_profiles(
        &self,
        accessor: &Accessor,
        profile_id: &str,
        linked: &[(TenantId, String)],
    ) -> Result<Vec<(TenantId, String)>, AccessError> {
        let grant = self.require(accessor, profile_id, Scope::ReadAccounts).await?;
        let global = grant.check(Scope::ReadGlobalProfile, self.clock.now()).is_ok();
        Ok(linked
            .iter()
            .filter(|(tenant, _)| global || *tenant == accessor.tenant)
            .cloned()
            .collect())
    }
}
