//! What the twin is asked ([`ProfileCommand`]), what it records ([`ProfileEvent`], each dated
//! on the effective timeline) and why it refuses ([`ProfileRejection`]).

use std::collections::BTreeMap;

use chrono::{DateTime, NaiveDate, NaiveTime, Utc};
use serde::{Deserialize, Serialize};

use super::profile::{AccountAnchor, IMPORT_EVENTS_MAX, IMPORT_TRANSACTIONS_MAX, ProfileInfo};
use crate::fos::{Confidence, Enrichment, ManualAsset, Source, UnifiedAccount, UnifiedTransaction};
use fintra_core::{Asset, DomainEvent};

/// What callers ask the twin to do.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ProfileCommand {
    /// Creates the profile.
    Create {
        /// The caller's id for the person.
        profile_id: String,
        /// Reporting currency.
        base_currency: Asset,
    },
    /// Imports normalised accounts and transactions (deduplicated against what is known).
    Import {
        /// The staged import's id.
        import_id: uuid::Uuid,
        /// Where it came from.
        source: Source,
        /// Accounts (new ones are linked).
        accounts: Vec<UnifiedAccount>,
        /// Transactions.
        transactions: Vec<UnifiedTransaction>,
        /// Anchors of new accounts computed over the whole staged input (an import approved in
        /// several commands anchors each account on all of its transactions); accounts missing
        /// here are anchored on this command's transactions.
        anchors: BTreeMap<String, AccountAnchor>,
    },
    /// Registers or revalues a manual asset.
    ValueManualAsset(ManualAsset),
    /// Replaces what the twin knows of a transaction with the provider's new version (Plaid
    /// `transactions/sync` `modified`): same id, account and currency; history keeps both.
    AmendTransaction {
        /// The new version.
        transaction: Box<UnifiedTransaction>,
        /// Why (e.g. "modified by Plaid transactions/sync").
        reason: String,
    },
    /// Sets transactions' merchant and category (the Brain's refinery, or a person's correction
    /// with lineage source [`USER_SOURCE`](crate::fos::USER_SOURCE)). Records one
    /// `TransactionCategorised` per transaction whose enrichment changes; a transaction already
    /// so categorised, one corrected away, or one a person categorised (when this is not a
    /// person's) is left as it is; a later entry for the same transaction is judged against the
    /// earlier one. At most [`IMPORT_EVENTS_MAX`] per command; categories up to 256 bytes,
    /// merchant names up to 1 KiB.
    Categorise {
        /// (transaction id, its new enrichment).
        changes: Vec<(String, Enrichment)>,
    },
    /// Removes a transaction from the derived state with a compensating event; history keeps
    /// both.
    CorrectTransaction {
        /// The transaction.
        transaction_id: String,
        /// Why (e.g. "Duplicate processing").
        reason: String,
    },
}

/// What happened to the twin.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum ProfileEvent {
    /// The profile was created. Effective on every date (`occurred_at` is the Unix epoch), so
    /// time travel to any instant finds it.
    ProfileCreated(ProfileInfo),
    /// An account was linked; its opening balance anchors the derived balances.
    AccountLinked {
        /// The account.
        account: UnifiedAccount,
        /// Balance before the first imported transaction.
        opening_balance_minor: i128,
        /// The date the anchor applies from (its first transaction's date).
        opened_on: NaiveDate,
    },
    /// `Core.TransactionsImported`: new transactions of one booking day from one import (at most
    /// [`IMPORT_EVENT_TRANSACTIONS_MAX`](super::IMPORT_EVENT_TRANSACTIONS_MAX); a busy day takes
    /// several events).
    TransactionsImported {
        /// The import.
        import_id: uuid::Uuid,
        /// Where it came from.
        source: Source,
        /// The booking day (the event's effective date).
        date: NaiveDate,
        /// The transactions.
        transactions: Vec<UnifiedTransaction>,
    },
    /// A manual asset was registered or revalued (effective on its valuation date).
    ManualAssetValued(ManualAsset),
    /// A transaction replaced by the provider's new version, effective on its (new) booking date.
    TransactionAmended {
        /// The new version.
        transaction: Box<UnifiedTransaction>,
        /// Why.
        reason: String,
    },
    /// `TransactionCategorised` (spec §3): a transaction's merchant and category changed,
    /// effective on its booking date.
    TransactionCategorised {
        /// The transaction.
        transaction_id: String,
        /// Its category before (`None` when it had none).
        old_category: Option<String>,
        /// Its category now (`enrichment.category`).
        new_category: String,
        /// The setter's confidence (`enrichment.lineage.confidence`).
        confidence: Option<Confidence>,
        /// The transaction as it now stands: its `enrichment` is the new one, with lineage.
        transaction: Box<UnifiedTransaction>,
    },
    /// A compensating correction (spec §4.15), effective on the corrected transaction's date.
    TransactionCorrected {
        /// The transaction.
        transaction_id: String,
        /// Why.
        reason: String,
        /// The corrected transaction's booking date.
        date: NaiveDate,
    },
}

fn midnight(date: NaiveDate) -> DateTime<Utc> {
    date.and_time(NaiveTime::MIN).and_utc()
}

impl DomainEvent for ProfileEvent {
    fn event_type(&self) -> &'static str {
        match self {
            Self::ProfileCreated(_) => "ProfileCreated",
            Self::AccountLinked { .. } => "AccountLinked",
            Self::TransactionsImported { .. } => "TransactionsImported",
            Self::ManualAssetValued(_) => "ManualAssetValued",
            Self::TransactionCorrected { .. } => "TransactionCorrected",
            Self::TransactionAmended { .. } => "TransactionAmended",
            Self::TransactionCategorised { .. } => "TransactionCategorised",
        }
    }

    fn occurred_at(&self) -> Option<DateTime<Utc>> {
        Some(match self {
            Self::ProfileCreated(_) => DateTime::UNIX_EPOCH,
            Self::AccountLinked { opened_on, .. } => midnight(*opened_on),
            Self::TransactionsImported { date, .. } | Self::TransactionCorrected { date, .. } => {
                midnight(*date)
            }
            Self::TransactionCategorised { transaction, .. } => midnight(transaction.date),
            Self::ManualAssetValued(asset) => midnight(asset.valuation_date),
            Self::TransactionAmended { transaction, .. } => midnight(transaction.date),
        })
    }
}

/// Why the twin refused a command: one variant per rule.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ProfileRejection {
    /// Create was sent twice.
    #[error("the profile already exists")]
    AlreadyCreated,
    /// A command before Create.
    #[error("the profile does not exist")]
    NotCreated,
    /// A transaction names an account that is neither linked nor in the import.
    #[error("transaction {transaction_id} names unknown account {account_id}")]
    UnknownAccount {
        /// The transaction.
        transaction_id: String,
        /// The account.
        account_id: String,
    },
    /// A transaction's currency differs from its account's.
    #[error("transaction {transaction_id} is in another currency than its account")]
    CurrencyMismatch {
        /// The transaction.
        transaction_id: String,
    },
    /// The import would need more events than one append holds; split it.
    #[error("the import needs {events} events; at most {IMPORT_EVENTS_MAX} per command")]
    ImportTooLarge {
        /// Events it would need.
        events: usize,
    },
    /// Too many transactions in one command.
    #[error("{actual} transactions in one import; at most {IMPORT_TRANSACTIONS_MAX}")]
    TooManyTransactions {
        /// How many.
        actual: usize,
    },
    /// A manual valuation is negative, dated in the future, or has an empty id.
    #[error("invalid manual asset {asset_id}: {reason}")]
    InvalidManualAsset {
        /// The asset.
        asset_id: String,
        /// Why.
        reason: &'static str,
    },
    /// No such transaction.
    #[error("unknown transaction {0}")]
    UnknownTransaction(String),
    /// More categorisations in one command than one append holds.
    #[error("{actual} categorisations in one command; at most {IMPORT_EVENTS_MAX}")]
    TooManyCategorisations {
        /// How many.
        actual: usize,
    },
    /// A categorisation with an empty or over-long category or merchant name.
    #[error("transaction {transaction_id}: {reason}")]
    InvalidCategory {
        /// The transaction.
        transaction_id: String,
        /// Why.
        reason: &'static str,
    },
    /// The transaction was already corrected.
    #[error("transaction {0} is already corrected")]
    AlreadyCorrected(String),
    /// A correction needs a reason.
    #[error("a correction needs a reason")]
    ReasonRequired,
    /// An amendment may change a transaction's content, not its account or currency.
    #[error("transaction {transaction_id} cannot move to another account or currency")]
    AmendmentChangesAccount {
        /// The transaction.
        transaction_id: String,
    },
    /// Sums left the `i128` range.
    #[error("amount overflow")]
    Overflow,
}
