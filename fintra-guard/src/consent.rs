//! Consent in the FDX and UK Open Banking shape: a grant gives one accessor (an app, service or
//! agent) scopes over one profile's data for a validity window. Every change is an event of the
//! grant's stream; every guarded read checks the grant at the moment of the call.

use chrono::{DateTime, Duration, Utc};
use fintra_core::{Aggregate, DecideContext, DomainEvent};
use serde::{Deserialize, Serialize};

/// What a grant allows (spec §2.7, §4.11).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum Scope {
    /// Accounts and their details.
    ReadAccounts,
    /// Transactions.
    ReadTransactions,
    /// Balances.
    ReadBalances,
    /// Cash-flow forecasts.
    ReadForecast,
    /// Moving money (agent skills such as `transfer_money`).
    ExecuteTransactions,
    /// Data from every tenant the person is linked in, not only the accessor's own (AI context
    /// scoping).
    ReadGlobalProfile,
}

/// A grant's status at an instant.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum ConsentStatus {
    /// In force.
    Active,
    /// Not yet in force (`valid_from` is in the future).
    Pending,
    /// Past `expires_at`, or not reconfirmed within [`RECONFIRMATION_DAYS`].
    Expired,
    /// Revoked by the person.
    Revoked,
    /// No grant at all.
    NotGranted,
}

/// Days after which a long-lived grant must be reconfirmed by the person (the UK Open Banking
/// 90-day rule).
pub const RECONFIRMATION_DAYS: i64 = 90;

/// A consent grant's state.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ConsentGrant {
    /// The grant's id.
    pub consent_id: String,
    /// Whose data.
    pub profile_id: String,
    /// The person's tenant.
    pub tenant_id: String,
    /// Who may read it (an app, service or agent id).
    pub accessor: String,
    /// What it may do.
    pub scopes: Vec<Scope>,
    /// From when.
    pub valid_from: Option<DateTime<Utc>>,
    /// Until when.
    pub expires_at: Option<DateTime<Utc>>,
    /// When the person last confirmed it (granted or reconfirmed).
    pub confirmed_at: Option<DateTime<Utc>>,
    /// When it was revoked.
    pub revoked_at: Option<DateTime<Utc>>,
}

impl ConsentGrant {
    /// The status at `now`.
    pub fn status(&self, now: DateTime<Utc>) -> ConsentStatus {
        if self.consent_id.is_empty() {
            return ConsentStatus::NotGranted;
        }
        if self.revoked_at.is_some_and(|at| at <= now) {
            return ConsentStatus::Revoked;
        }
        match (self.valid_from, self.expires_at, self.confirmed_at) {
            (Some(from), _, _) if now < from => ConsentStatus::Pending,
            (_, Some(until), _) if now >= until => ConsentStatus::Expired,
            (_, _, Some(confirmed)) if now - confirmed > Duration::days(RECONFIRMATION_DAYS) => {
                ConsentStatus::Expired
            }
            (Some(_), Some(_), Some(_)) => ConsentStatus::Active,
            _ => ConsentStatus::Pending,
        }
    }

    /// Allows `scope` at `now`, or says why not.
    ///
    /// # Errors
    /// [`ConsentDenied`] naming the missing scope and the grant's status.
    pub fn check(&self, scope: Scope, now: DateTime<Utc>) -> Result<(), ConsentDenied> {
        let status = self.status(now);
        if status == ConsentStatus::Active && self.scopes.contains(&scope) {
            return Ok(());
        }
        Err(ConsentDenied {
            consent_id: self.consent_id.clone(),
            accessor: self.accessor.clone(),
            scope,
            status,
        })
    }
}

/// A read or action the person's consent does not cover.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("consent {consent_id} does not let {accessor} use {scope:?} (grant {status:?})")]
pub struct ConsentDenied {
    /// The grant checked (empty when the accessor has none).
    pub consent_id: String,
    /// The accessor.
    pub accessor: String,
    /// The scope the call needed.
    pub scope: Scope,
    /// The grant's status at the call (`Active` when the scope is simply not granted).
    pub status: ConsentStatus,
}

/// What callers ask of a grant.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ConsentCommand {
    /// Grants scopes for a window.
    Grant {
        /// The grant's id.
        consent_id: String,
        /// Whose data.
        profile_id: String,
        /// The person's tenant.
        tenant_id: String,
        /// Who may read it.
        accessor: String,
        /// What it may do (at least one).
        scopes: Vec<Scope>,
        /// From when.
        valid_from: DateTime<Utc>,
        /// Until when (after `valid_from`).
        expires_at: DateTime<Utc>,
    },
    /// The person confirms the grant again (resets the 90-day clock).
    Reconfirm,
    /// The person withdraws the grant.
    Revoke {
        /// Why (kept for audit).
        reason: String,
    },
}

/// What happened to a grant.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum ConsentEvent {
    /// Granted.
    Granted(ConsentGrant),
    /// Reconfirmed at the event's time.
    Reconfirmed {
        /// When.
        at: DateTime<Utc>,
    },
    /// Revoked.
    Revoked {
        /// When.
        at: DateTime<Utc>,
        /// Why.
        reason: String,
    },
}

impl DomainEvent for ConsentEvent {
    fn event_type(&self) -> &'static str {
        match self {
            Self::Granted(_) => "ConsentGranted",
            Self::Reconfirmed { .. } => "ConsentReconfirmed",
            Self::Revoked { .. } => "ConsentRevoked",
        }
    }
}

/// Why a consent command was refused.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ConsentRejection {
    /// An active or pending grant exists already.
    #[error("an active or pending grant exists already")]
    AlreadyGranted,
    /// No grant yet.
    #[error("no such grant")]
    NotGranted,
    /// A grant without scopes or accessor, or with an empty window.
    #[error("invalid grant: {0}")]
    Invalid(String),
    /// Revoked grants stay revoked.
    #[error("the grant was revoked")]
    Revoked,
}

impl Aggregate for ConsentGrant {
    const CATEGORY: &'static str = "Consent";
    type Command = ConsentCommand;
    type Event = ConsentEvent;
    type Error = ConsentRejection;

    fn decide(
        &self,
        command: &ConsentCommand,
        ctx: &DecideContext<'_>,
    ) -> Result<Vec<ConsentEvent>, ConsentRejection> {
        // A revoked or expired grant may be granted afresh; an active or pending one may not.
        let exists = !self.consent_id.is_empty()
            && matches!(self.status(ctx.now()), ConsentStatus::Active | ConsentStatus::Pending);
        match command {
            ConsentCommand::Grant {
                consent_id,
                profile_id,
                tenant_id,
                accessor,
                scopes,
                valid_from,
                expires_at,
            } => {
                if exists {
                    return Err(ConsentRejection::AlreadyGranted);
                }
                if scopes.is_empty() || expires_at <= valid_from || accessor.trim().is_empty() {
                    return Err(ConsentRejection::Invalid(
                        "a grant needs scopes, an accessor and expires_at after valid_from".into(),
                    ));
                }
                let mut scopes = scopes.clone();
                scopes.sort();
                scopes.dedup();
                Ok(vec![ConsentEvent::Granted(ConsentGrant {
                    consent_id: consent_id.clone(),
                    profile_id: profile_id.clone(),
                    tenant_id: tenant_id.clone(),
                    accessor: accessor.clone(),
                    scopes,
                    valid_from: Some(*valid_from),
                    expires_at: Some(*expires_at),
                    confirmed_at: Some(ctx.now()),
                    revoked_at: None,
                })])
            }
            ConsentCommand::Reconfirm | ConsentCommand::Revoke { .. }
                if self.consent_id.is_empty() =>
            {
                Err(ConsentRejection::NotGranted)
            }
            _ if self.revoked_at.is_some() => Err(ConsentRejection::Revoked),
            ConsentCommand::Reconfirm => Ok(vec![ConsentEvent::Reconfirmed { at: ctx.now() }]),
            ConsentCommand::Revoke { reason } => {
                Ok(vec![ConsentEvent::Revoked { at: ctx.now(), reason: reason.clone() }])
            }
        }
    }

    fn apply(&mut self, event: &ConsentEvent) {
        match event {
            ConsentEvent::Granted(grant) => *self = grant.clone(),
            ConsentEvent::Reconfirmed { at } => self.confirmed_at = Some(*at),
            ConsentEvent::Revoked { at, .. } => self.revoked_at = Some(*at),
        }
    }
}
