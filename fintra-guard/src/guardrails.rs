//! Deterministic guardrails for AI agent skills (spec §4.11): before a skill's command is
//! decided, the spec's ordered checks run, and the first that fails refuses the call with a
//! typed reason that is recorded.

use std::collections::{BTreeMap, BTreeSet};

use chrono::{DateTime, NaiveDate, Utc};
use fintra_core::{Asset, Money};
use serde::{Deserialize, Serialize};

use crate::consent::{ConsentDenied, ConsentGrant, Scope};

/// A capability exposed to AI agents, e.g. `transfer_money`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AgentSkill {
    /// Its name.
    pub name: String,
    /// The scope a grant must hold for it (`EXECUTE_TRANSACTIONS` for money movement).
    pub scope: Scope,
}

impl AgentSkill {
    /// The spec's example skill: `transfer_money`, needing `EXECUTE_TRANSACTIONS`.
    pub fn transfer_money() -> Self {
        Self { name: "transfer_money".to_owned(), scope: Scope::ExecuteTransactions }
    }
}

/// The user's limits on what agents may do with their money.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct TransferPolicy {
    /// Largest single transfer ("Max Transfer: $500").
    pub max_per_transfer: Money,
    /// Largest total per calendar day (UTC), this transfer included.
    pub max_per_day: Money,
    /// Payees agents may pay; `None` allows any.
    pub allowed_payees: Option<BTreeSet<String>>,
}

/// One agent's request to move money.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TransferRequest {
    /// How much.
    pub amount: Money,
    /// To whom.
    pub payee: String,
    /// When the agent asks.
    pub at: DateTime<Utc>,
}

/// Which check refused a skill call, in the order the checks run.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, thiserror::Error)]
#[serde(tag = "check", rename_all = "snake_case")]
#[non_exhaustive]
pub enum GuardrailRefusal {
    /// 1. The tenant has not enabled the skill.
    #[error("the tenant has not enabled the skill {skill}")]
    SkillDisabled {
        /// The skill.
        skill: String,
    },
    /// 2. The person's consent does not include the skill's scope.
    #[error("consent: {reason}")]
    NoConsent {
        /// What the consent check said.
        reason: String,
    },
    /// 3a. Above the per-transfer limit.
    #[error("{requested} is above the limit of {limit} per transfer")]
    AboveTransferLimit {
        /// Asked for.
        requested: String,
        /// The limit.
        limit: String,
    },
    /// 3b. Above the daily limit with what was already sent today.
    #[error("{requested} with {already_today} sent today is above the daily limit of {limit}")]
    AboveDailyLimit {
        /// Asked for.
        requested: String,
        /// Sent already today.
        already_today: String,
        /// The limit.
        limit: String,
    },
    /// 3c. A payee outside the allowed list.
    #[error("payee {payee} is not on the allowed list")]
    PayeeNotAllowed {
        /// The payee.
        payee: String,
    },
    /// 3d. A currency the policy's limits are not in.
    #[error("the request is in {requested}, the policy's limits in {policy}")]
    CurrencyMismatch {
        /// The request's currency.
        requested: String,
        /// The policy's.
        policy: String,
    },
}

/// The guardrails of one tenant: which skills it enables, and each user's transfer policy and
/// what their agents sent per day (fed back by [`Guardrails::record_transfer`]).
#[derive(Clone, Debug, Default)]
pub struct Guardrails {
    enabled: BTreeSet<String>,
    policies: BTreeMap<String, TransferPolicy>,
    sent: BTreeMap<(String, NaiveDate), i128>,
}

impl Guardrails {
    /// No skill enabled, no policy.
    pub fn new() -> Self {
        Self::default()
    }

    /// Enables a skill for the tenant.
    #[must_use]
    pub fn enable(mut self, skill: &AgentSkill) -> Self {
        self.enabled.insert(skill.name.clone());
        self
    }

    /// Sets a user's transfer policy.
    #[must_use]
    pub fn with_policy(mut self, profile_id: &str, policy: TransferPolicy) -> Self {
        self.policies.insert(profile_id.to_owned(), policy);
        self
    }

    /// Runs the checks, in the spec's order, for `skill` called for `profile_id` under
    /// `grant`: (1) the tenant enabled the skill; (2) the grant holds the skill's scope now;
    /// (3) the parameters are within the user's policy — per transfer, per day, payee — and a
    /// user without a policy gets no transfer at all. Only then may the command be decided.
    ///
    /// # Errors
    /// The first [`GuardrailRefusal`].
    pub fn authorize_transfer(
        &self,
        skill: &AgentSkill,
        profile_id: &str,
        grant: &ConsentGrant,
        request: &TransferRequest,
    ) -> Result<(), GuardrailRefusal> {
        if !self.enabled.contains(&skill.name) {
            return Err(GuardrailRefusal::SkillDisabled { skill: skill.name.clone() });
        }
        grant
            .check(skill.scope, request.at)
            .map_err(|e: ConsentDenied| GuardrailRefusal::NoConsent { reason: e.to_string() })?;
        let Some(policy) = self.policies.get(profile_id) else {
            return Err(GuardrailRefusal::AboveTransferLimit {
                requested: request.amount.to_string(),
                limit: "none (no transfer policy)".to_owned(),
            });
        };
        self.within_policy(policy, profile_id, request)
    }

    fn within_policy(
        &self,
        policy: &TransferPolicy,
        profile_id: &str,
        request: &TransferRequest,
    ) -> Result<(), GuardrailRefusal> {
        let asset: Asset = policy.max_per_transfer.asset();
        if request.amount.asset() != asset || policy.max_per_day.asset() != asset {
            return Err(GuardrailRefusal::CurrencyMismatch {
                requested: request.amount.asset().to_string(),
                policy: asset.to_string(),
            });
        }
        if request.amount.is_negative() || request.amount.minor() > policy.max_per_transfer.minor()
        {
            return Err(GuardrailRefusal::AboveTransferLimit {
                requested: request.amount.to_string(),
                limit: policy.max_per_transfer.to_string(),
            });
        }
        let today = self.sent_on(profile_id, request.at.date_naive());
        if today.saturating_add(request.amount.minor()) > policy.max_per_day.minor() {
            return Err(GuardrailRefusal::AboveDailyLimit {
                requested: request.amount.to_string(),
                already_today: Money::new(today, asset).to_string(),
                limit: policy.max_per_day.to_string(),
            });
        }
        if let Some(allowed) = &policy.allowed_payees
            && !allowed.contains(&request.payee)
        {
            return Err(GuardrailRefusal::PayeeNotAllowed { payee: request.payee.clone() });
        }
        Ok(())
    }

    /// What the user's agents sent on `day` (minor units of the policy's currency).
    pub fn sent_on(&self, profile_id: &str, day: NaiveDate) -> i128 {
        self.sent.get(&(profile_id.to_owned(), day)).copied().unwrap_or(0)
    }

    /// Counts an executed transfer towards the daily limit.
    pub fn record_transfer(&mut self, profile_id: &str, request: &TransferRequest) {
        let slot = self.sent.entry((profile_id.to_owned(), request.at.date_naive())).or_insert(0);
        *slot = slot.saturating_add(request.amount.minor());
    }
}
