//! Amendments: the provider's new version of a transaction it sent before (same id), folded so
//! balances move by the difference.

use crate::fos::UnifiedTransaction;
use crate::{Profile, ProfileEvent, ProfileRejection};

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
        Ok(vec![ProfileEvent::TransactionAmended {
            transaction: Box::new(transaction.clone()),
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
        stored.transaction = transaction.clone();
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
