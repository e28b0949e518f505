//! [`Rejection`]: why a ledger command was refused, one variant per rule.

use chrono::{DateTime, Utc};
use fintra_core::Money;

use super::types::{AccountId, PendingStatus, TransferId};
use fintra_core::Asset;

/// Why a ledger command was refused: one variant per rule.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum Rejection {
    /// Amounts must be above zero.
    #[error("transfer {id}: amount must be positive")]
    AmountNotPositive {
        /// The transfer.
        id: TransferId,
    },
    /// The debit and credit account are the same.
    #[error("transfer {id}: debit and credit account are the same")]
    SameAccount {
        /// The transfer.
        id: TransferId,
    },
    /// No such account in this book.
    #[error("account {account} not found")]
    AccountNotFound {
        /// The account.
        account: AccountId,
    },
    /// The account is closed.
    #[error("account {account} is closed")]
    AccountClosed {
        /// The account.
        account: AccountId,
    },
    /// The amount's asset differs from an account's.
    #[error("currency mismatch: account {account} holds {expected}, the amount is in {given}")]
    CurrencyMismatch {
        /// The account.
        account: AccountId,
        /// Its asset.
        expected: Asset,
        /// The amount's asset.
        given: Asset,
    },
    /// The two accounts belong to different ledgers.
    #[error("accounts are on ledgers {debit} and {credit}")]
    LedgerMismatch {
        /// The debit account's ledger.
        debit: u32,
        /// The credit account's ledger.
        credit: u32,
    },
    /// The debit would take `debits_pending + debits_posted` above `credits_posted`.
    #[error("account {account}: debits of {debits} would exceed credits of {credits}")]
    ExceedsCredits {
        /// The account.
        account: AccountId,
        /// Its debits (pending and posted) after the transfer.
        debits: Money,
        /// Its posted credits.
        credits: Money,
    },
    /// The credit would take `credits_pending + credits_posted` above `debits_posted`.
    #[error("account {account}: credits of {credits} would exceed debits of {debits}")]
    ExceedsDebits {
        /// The account.
        account: AccountId,
        /// Its credits (pending and posted) after the transfer.
        credits: Money,
        /// Its posted debits.
        debits: Money,
    },
    /// A total would leave the `i128` range.
    #[error("account {account}: balance overflow")]
    Overflow {
        /// The account.
        account: AccountId,
    },
    /// The id was used for a different request.
    #[error("transfer {id} exists with different fields")]
    IdempotencyConflict {
        /// The transfer.
        id: TransferId,
    },
    /// The id was used for a different account.
    #[error("account {account} exists with different fields")]
    AccountExists {
        /// The account.
        account: AccountId,
    },
    /// A referenced transfer does not exist.
    #[error("transfer {id} not found")]
    TransferNotFound {
        /// The referenced transfer.
        id: TransferId,
    },
    /// Post or void named a transfer that is not pending.
    #[error("transfer {id} is not a pending transfer")]
    NotPending {
        /// The referenced transfer.
        id: TransferId,
    },
    /// The pending transfer was already posted, voided or has lapsed.
    #[error("pending transfer {pending} is no longer open: {status:?}")]
    PendingNotOpen {
        /// The pending transfer.
        pending: TransferId,
        /// What became of it.
        status: PendingStatus,
    },
    /// A post asked for more than was reserved.
    #[error("cannot post {requested} of pending {pending}, which reserved {reserved}")]
    PostExceedsPending {
        /// The pending transfer.
        pending: TransferId,
        /// What it reserved.
        reserved: Money,
        /// What was asked.
        requested: Money,
    },
    /// A balance condition did not hold.
    #[error("account {account}: available {available} would fall below {at_least}")]
    ConditionFailed {
        /// The account.
        account: AccountId,
        /// Available after the transfer.
        available: Money,
        /// The floor.
        at_least: Money,
    },
    /// A balancing transfer found nothing to move.
    #[error("transfer {id}: nothing available to move")]
    NothingAvailable {
        /// The transfer.
        id: TransferId,
    },
    /// Only posted plain, balancing or posting transfers can be corrected.
    #[error("transfer {original} cannot be corrected")]
    NotCorrectable {
        /// The transfer named.
        original: TransferId,
    },
    /// A correction asked for more than is left uncorrected.
    #[error("correction of {original}: {requested} requested, {remaining} left")]
    CorrectionExceedsOriginal {
        /// The transfer corrected.
        original: TransferId,
        /// What is left uncorrected.
        remaining: Money,
        /// What was asked.
        requested: Money,
    },
    /// An effective date lies after the command's time.
    #[error("{at} is in the future (now {now})")]
    InFuture {
        /// The date given.
        at: DateTime<Utc>,
        /// The command's time.
        now: DateTime<Utc>,
    },
    /// An effective date lies before an account's opening or the transfer it references.
    #[error("effective date {at} is before {earliest}")]
    EffectiveTooEarly {
        /// The date given.
        at: DateTime<Utc>,
        /// The earliest allowed.
        earliest: DateTime<Utc>,
    },
    /// An account with open reservations cannot close.
    #[error("account {account} has open pending transfers")]
    AccountHasPending {
        /// The account.
        account: AccountId,
    },
    /// Both balance flags were set on one account.
    #[error("account {account}: the two balance flags exclude each other")]
    ConflictingFlags {
        /// The account.
        account: AccountId,
    },
    /// The balance condition names an account the transfer does not touch.
    #[error("transfer {id}: the condition must name its debit or credit account")]
    ConditionAccount {
        /// The transfer.
        id: TransferId,
    },
    /// A member of a linked batch failed, so none was applied.
    #[error("linked transfer #{index} ({id}) failed: {cause}")]
    LinkedFailed {
        /// Its position in the batch.
        index: usize,
        /// Its id.
        id: TransferId,
        /// Why.
        cause: Box<Rejection>,
    },
    /// An empty batch.
    #[error("the batch is empty")]
    EmptyBatch,
    /// A size or count bound from [`fintra_core::limits`] or the ledger module.
    #[error("{what}: {actual} is above the maximum {max}")]
    TooLarge {
        /// What was too large.
        what: &'static str,
        /// The bound.
        max: usize,
        /// What was given.
        actual: usize,
    },
    /// A field value is invalid (e.g. a zero timeout).
    #[error("{field}: {reason}")]
    Invalid {
        /// The field.
        field: &'static str,
        /// Why.
        reason: &'static str,
    },
    /// Linked batches and non-plain transfers must stay inside one book of a sharded
    /// [`Ledger`](super::Ledger).
    #[error("transfer {id} spans two books and is not a plain posted transfer")]
    CrossBook {
        /// The transfer.
        id: TransferId,
    },
}
