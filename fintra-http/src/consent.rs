//! Consent on every read (spec §4.11): when a host turns it on, each route checks — at the time
//! of the call — that the request's accessor holds the route's scope over the profile.

use async_trait::async_trait;
use fintra_core::{EventStore, TenantId};
use fintra_guard::{AccessError, Accessor, ConsentRegistry, Scope};

use crate::error::{ApiError, ErrorCode};

/// Decides whether a request may read a profile.
#[async_trait]
pub trait ConsentCheck: Send + Sync {
    /// `Ok` when `accessor` (the request's, if any) may use `scope` on `profile_id` of
    /// `tenant` now.
    ///
    /// # Errors
    /// [`ErrorCode::Unauthenticated`] without an accessor, [`ErrorCode::ConsentDenied`] when
    /// the grant does not cover it, [`ErrorCode::Unavailable`] when grants cannot be read.
    async fn check(
        &self,
        accessor: Option<&Accessor>,
        tenant: &TenantId,
        profile_id: &str,
        scope: Scope,
    ) -> Result<(), ApiError>;
}

#[async_trait]
impl<S: EventStore + 'static> ConsentCheck for ConsentRegistry<S> {
    async fn check(
        &self,
        accessor: Option<&Accessor>,
        tenant: &TenantId,
        profile_id: &str,
        scope: Scope,
    ) -> Result<(), ApiError> {
        let Some(accessor) = accessor else {
            return Err(ApiError::new(
                ErrorCode::Unauthenticated,
                "this server checks consent: the request must be authenticated as an accessor",
            ));
        };
        if accessor.tenant != *tenant {
            return Err(ApiError::new(
                ErrorCode::ConsentDenied,
                "the accessor acts for another tenant",
            ));
        }
        match self.require(accessor, profile_id, scope).await {
            Ok(_) => Ok(()),
            Err(AccessError::Denied(denied)) => Err(ApiError {
                code: ErrorCode::ConsentDenied,
                message: denied.to_string(),
                details: serde_json::json!({ "scope": scope }),
            }),
            Err(other) => Err(ApiError::unavailable("consent registry", &other)),
        }
    }
}
