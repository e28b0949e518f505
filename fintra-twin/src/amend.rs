//! Amendments: the provider's new version of a transaction it sent before (same id), folded so
//! balances move by the difference.

use std::collections::HashMap;

use crate::connect::TEXT_BYTES_MAX;
use crate::connect::{BASIC_LINEAGE, PROVIDER_LINEAGE};
use crate::fos::{Enrichment, UnifiedTransaction};
use crate::{IMPORT_EVENTS_MAX, Profile, ProfileEvent, ProfileRejection};

/// Longest category accepted, in bytes.
pub(crate) const CATEGORY_BYTES_MAX: usize = 256;

impl Profile {
    /// `AmendTransaction`: a known, uncorrected transaction of the same account and currency;
    /// a version with the same provider facts records nothing.
    pub(crate) fn decide_amendment(
        &self,
        transaction: &UnifiedTransaction,
        reason: &str,
    ) -> Result<Vec<ProfileEvent>, ProfileRejection> {
        if reason.trim().is_empty() {
            return Err(ProfileRejection::ReasonRequired);
        }
        let id = &transaction.transaction_id;
        let known =
            self.transaction(id).ok_or_else(|| ProfileRejection::UnknownTransaction(id.clone()))?;
        if known.corrected.is_some() {
            return Err(ProfileRejection::AlreadyCorrected(id.clone()));
        }
        let old = &known.transaction;
        if old.account_id != transaction.account_id || old.currency != transaction.currency {
            return Err(ProfileRejection::AmendmentChangesAccount { transaction_id: id.clone() });
        }
        if old.same_provider_facts(transaction) {
            return Ok(Vec::new());
        }
        // The event says what the twin will hold: a person's category stays, and so does an
        // earlier categoriser's over Connect's first pass (the refinery re-categorises the new
        // version when it runs).
        let mut recorded = transaction.clone();
        if let Some(kept) = old.enrichment.as_ref().filter(|o| {
            o.lineage.is_user()
                || recorded.enrichment.as_ref().is_none_or(|n| {
                    matches!(n.lineage.source.as_str(), BASIC_LINEAGE | PROVIDER_LINEAGE)
                        && !matches!(o.lineage.source.as_str(), BASIC_LINEAGE | PROVIDER_LINEAGE)
                })
        }) {
            recorded.enrichment = Some(kept.clone());
        }
        Ok(vec![ProfileEvent::TransactionAmended {
            transaction: Box::new(recorded),
            reason: reason.to_owned(),
        }])
    }

    /// Replaces the stored version and moves the account's posted or pending sum by what
    /// changed.
    pub(crate) fn fold_amendment(&mut self, transaction: &UnifiedTransaction) {
        let Some((was_posted, was_open, old_amount)) = self
            .transaction(&transaction.transaction_id)
            .filter(|t| t.corrected.is_none())
            .map(|t| (t.is_effective_posted(), t.is_open_pending(), t.transaction.amount_minor))
        else {
            return;
        };
        let Some(stored) = self.transactions.get_mut(&transaction.transaction_id) else { return };
        // A person's category outlives the provider's new version (events recorded before the
        // decider carried it over may still lack it).
        let user = stored.transaction.enrichment.take().filter(|e| e.lineage.is_user());
        stored.transaction = transaction.clone();
        if user.is_some() {
            stored.transaction.enrichment = user;
        }
        let (now_posted, now_open) = (stored.is_effective_posted(), stored.is_open_pending());
        let Some(account) = self.accounts.get_mut(&transaction.account_id) else { return };
        if was_posted {
            account.balance_minor = account.balance_minor.saturating_sub(old_amount);
        } else if was_open {
            account.pending_minor = account.pending_minor.saturating_sub(old_amount);
        }
        if now_posted {
            account.balance_minor = account.balance_minor.saturating_add(transaction.amount_minor);
        } else if now_open {
            account.pending_minor = account.pending_minor.saturating_add(transaction.amount_minor);
        }
    }
}

impl Profile {
    /// `Categorise`: one `TransactionCategorised` per transaction whose enrichment changes.
    pub(crate) fn decide_categorisation(
        &self,
        changes: &[(String, Enrichment)],
    ) -> Result<Vec<ProfileEvent>, ProfileRejection> {
        if changes.len() > IMPORT_EVENTS_MAX {
            return Err(ProfileRejection::TooManyCategorisations { actual: changes.len() });
        }
        let mut events = Vec::new();
        // What earlier entries of this command set: a later entry is judged against them.
        let mut pending: HashMap<&str, &Enrichment> = HashMap::new();
        for (id, enrichment) in changes {
            let invalid =
                |reason| ProfileRejection::InvalidCategory { transaction_id: id.clone(), reason };
            if enrichment.category.trim().is_empty() {
                return Err(invalid("the category is empty"));
            }
            if enrichment.category.len() > CATEGORY_BYTES_MAX
                || enrichment.merchant_name.as_ref().is_some_and(|m| m.len() > TEXT_BYTES_MAX)
            {
                return Err(invalid("the category or merchant name is too long"));
            }
            let known = self
                .transaction(id)
                .ok_or_else(|| ProfileRejection::UnknownTransaction(id.clone()))?;
            let old = pending.get(id.as_str()).copied().or(known.transaction.enrichment.as_ref());
            let unchanged = old.is_some_and(|o| o.same_decision(enrichment));
            let outranked =
                old.is_some_and(|o| o.lineage.is_user()) && !enrichment.lineage.is_user();
            if known.corrected.is_some() || unchanged || outranked {
                continue;
            }
            pending.insert(id.as_str(), enrichment);
            let transaction = UnifiedTransaction {
                enrichment: Some(enrichment.clone()),
                ..known.transaction.clone()
            };
            events.push(ProfileEvent::TransactionCategorised {
                transaction_id: id.clone(),
                old_category: old.map(|o| o.category.clone()),
                new_category: enrichment.category.clone(),
                confidence: enrichment.lineage.confidence,
                transaction: Box::new(transaction),
            });
        }
        Ok(events)
    }

    /// Sets the transaction's enrichment (only that: balances do not move).
    pub(crate) fn fold_categorisation(&mut self, categorised: &UnifiedTransaction) {
        if let Some(stored) = self.transactions.get_mut(&categorised.transaction_id) {
            stored.transaction.enrichment.clone_from(&categorised.enrichment);
        }
    }
}
