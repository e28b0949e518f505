//! The ledger's vocabulary: accounts, transfers, balances, commands, events and rejections.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

pub use super::rejection::Rejection;
use fintra_core::{Asset, DomainEvent, Money};

/// A client-generated account id (UUIDv7 recommended). Unique within a ledger book.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(transparent)]
pub struct AccountId(pub Uuid);

/// A client-generated transfer id: the transfer's **idempotency key**.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(transparent)]
pub struct TransferId(pub Uuid);

impl AccountId {
    /// An id from a number (tests and examples).
    pub const fn from_u128(n: u128) -> Self {
        Self(Uuid::from_u128(n))
    }
}

impl TransferId {
    /// An id from a number (tests and examples).
    pub const fn from_u128(n: u128) -> Self {
        Self(Uuid::from_u128(n))
    }
}

impl std::fmt::Display for AccountId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.0.fmt(f)
    }
}

impl std::fmt::Display for TransferId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.0.fmt(f)
    }
}

/// The five kinds of account of double-entry bookkeeping.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AccountKind {
    /// What is owned (cash, receivables); grows with debits.
    Asset,
    /// What is owed (customer wallets held by a bank); grows with credits.
    Liability,
    /// Owners' stake; grows with credits.
    Equity,
    /// Revenue (fees earned); grows with credits.
    Income,
    /// Costs; grow with debits.
    Expense,
}

impl AccountKind {
    /// True for kinds whose balance grows with debits (asset, expense).
    pub fn is_debit_normal(self) -> bool {
        matches!(self, Self::Asset | Self::Expense)
    }
}

/// Rules an account enforces on every transfer that touches it.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct AccountFlags {
    /// `debits_pending + debits_posted ≤ credits_posted` at all times (a wallet that cannot go
    /// below zero).
    #[serde(default)]
    pub debits_must_not_exceed_credits: bool,
    /// `credits_pending + credits_posted ≤ debits_posted` at all times (a credit line).
    #[serde(default)]
    pub credits_must_not_exceed_debits: bool,
    /// A hot account kept as one sub-account per book (see `docs/ledger.md`); only meaningful
    /// through [`Ledger`](super::Ledger).
    #[serde(default)]
    pub spread: bool,
}

/// A request to open an account.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct NewAccount {
    /// The client-generated id.
    pub id: AccountId,
    /// A partition of accounts that may transact with each other (TigerBeetle's `ledger`).
    pub ledger: u32,
    /// The asset held, with its scale.
    pub asset: Asset,
    /// Asset, liability, equity, income or expense.
    pub kind: AccountKind,
    /// Balance rules.
    pub flags: AccountFlags,
    /// A caller-defined classification (chart-of-accounts code).
    pub code: u16,
    /// Free-form user data: at most [`HEADERS_MAX`](fintra_core::limits::HEADERS_MAX) entries, names
    /// and values bounded like event headers.
    #[serde(default)]
    pub metadata: BTreeMap<String, String>,
    /// When the account was opened on the effective timeline; `None` for the command's time.
    #[serde(default)]
    pub opened_at: Option<DateTime<Utc>>,
}

impl NewAccount {
    /// An account with no flags, code 0, ledger 1, no metadata, opened now.
    pub fn new(id: AccountId, asset: Asset, kind: AccountKind) -> Self {
        Self {
            id,
            ledger: 1,
            asset,
            kind,
            flags: AccountFlags::default(),
            code: 0,
            metadata: BTreeMap::new(),
            opened_at: None,
        }
    }

    /// Sets the flags.
    #[must_use]
    pub fn flags(mut self, flags: AccountFlags) -> Self {
        self.flags = flags;
        self
    }

    /// The account's balance on its normal side can never go below zero, reservations
    /// included: for a credit-normal account (liability, equity, income — a customer's wallet)
    /// debits may not exceed credits; for a debit-normal one (asset, expense) credits may not
    /// exceed debits. Set the kind first: this reads it.
    #[must_use]
    pub fn no_overdraft(mut self) -> Self {
        if self.kind.is_debit_normal() {
            self.flags.credits_must_not_exceed_debits = true;
        } else {
            self.flags.debits_must_not_exceed_credits = true;
        }
        self
    }

    /// Marks the account as a hot, spread account.
    #[must_use]
    pub fn spread(mut self) -> Self {
        self.flags.spread = true;
        self
    }

    /// Sets the ledger partition.
    #[must_use]
    pub fn ledger(mut self, ledger: u32) -> Self {
        self.ledger = ledger;
        self
    }

    /// Adds a metadata entry.
    #[must_use]
    pub fn with_metadata(mut self, key: &str, value: &str) -> Self {
        self.metadata.insert(key.to_owned(), value.to_owned());
        self
    }

    /// Opens the account at `at` on the effective timeline.
    #[must_use]
    pub fn opened_at(mut self, at: DateTime<Utc>) -> Self {
        self.opened_at = Some(at);
        self
    }
}

/// An open (or closed) account as the book holds it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Account {
    /// The request it was opened with; `opened_at` is always set here.
    pub spec: NewAccount,
    /// When it was closed, if it was.
    pub closed_at: Option<DateTime<Utc>>,
}

impl Account {
    /// The account's id.
    pub fn id(&self) -> AccountId {
        self.spec.id
    }

    /// The effective instant it was opened.
    pub fn opened_at(&self) -> DateTime<Utc> {
        self.spec.opened_at.unwrap_or(DateTime::UNIX_EPOCH)
    }
}

/// An account's four running totals, in minor units of its asset (TigerBeetle's model).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Balance {
    /// Reserved by open pending transfers on the debit side.
    pub debits_pending: i128,
    /// Posted debits.
    pub debits_posted: i128,
    /// Reserved by open pending transfers on the credit side.
    pub credits_pending: i128,
    /// Posted credits.
    pub credits_posted: i128,
}

impl Balance {
    /// The posted balance on the account's normal side (debits − credits for debit-normal
    /// kinds, credits − debits otherwise). Saturates at the `i128` bounds.
    pub fn posted(&self, kind: AccountKind) -> i128 {
        if kind.is_debit_normal() {
            self.debits_posted.saturating_sub(self.credits_posted)
        } else {
            self.credits_posted.saturating_sub(self.debits_posted)
        }
    }

    /// The posted balance minus the reservations that reduce it: what the owner can still use.
    pub fn available(&self, kind: AccountKind) -> i128 {
        if kind.is_debit_normal() {
            self.posted(kind).saturating_sub(self.credits_pending)
        } else {
            self.posted(kind).saturating_sub(self.debits_pending)
        }
    }

    /// What a balancing debit may take: `credits_posted − debits_posted − debits_pending`.
    pub fn debit_headroom(&self) -> i128 {
        self.credits_posted.saturating_sub(self.debits_posted).saturating_sub(self.debits_pending)
    }

    /// What a balancing credit may take: `debits_posted − credits_posted − credits_pending`.
    pub fn credit_headroom(&self) -> i128 {
        self.debits_posted.saturating_sub(self.credits_posted).saturating_sub(self.credits_pending)
    }

    /// Field-wise sum (for spread accounts); `None` on overflow.
    pub fn checked_sum(self, other: Self) -> Option<Self> {
        Some(Self {
            debits_pending: self.debits_pending.checked_add(other.debits_pending)?,
            debits_posted: self.debits_posted.checked_add(other.debits_posted)?,
            credits_pending: self.credits_pending.checked_add(other.credits_pending)?,
            credits_posted: self.credits_posted.checked_add(other.credits_posted)?,
        })
    }
}

/// The two accounts and the amount of a money movement.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Leg {
    /// The account debited.
    pub debit: AccountId,
    /// The account credited.
    pub credit: AccountId,
    /// A positive amount in the asset of both accounts.
    pub amount: Money,
}

/// Which side a balancing transfer is bounded by.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum BalancingSide {
    /// Move at most the debit account's [`Balance::debit_headroom`] (sweep a wallet).
    Debit,
    /// Move at most the credit account's [`Balance::credit_headroom`] (repay a debt in full).
    Credit,
}

/// What a transfer does.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TransferKind {
    /// Moves money now.
    Posted {
        /// Accounts and amount.
        leg: Leg,
    },
    /// Reserves money (a card authorisation) until posted, voided or timed out.
    Pending {
        /// Accounts and amount.
        leg: Leg,
        /// Seconds after the command's time when the reservation lapses; `None` never.
        timeout_secs: Option<u32>,
    },
    /// Posts an open pending transfer, in full (`amount: None`) or in part; the rest is released.
    PostPending {
        /// The pending transfer.
        pending: TransferId,
        /// At most the pending amount; `None` for all of it.
        amount: Option<Money>,
    },
    /// Releases an open pending transfer.
    VoidPending {
        /// The pending transfer.
        pending: TransferId,
    },
    /// Moves at most `leg.amount`, less if the bounded side has less room.
    Balancing {
        /// Accounts and the upper bound.
        leg: Leg,
        /// Which side bounds the amount.
        side: BalancingSide,
    },
    /// Compensates a posted transfer: the reverse movement, referencing it, with a reason. The
    /// original is never changed.
    Correction {
        /// The transfer corrected.
        original: TransferId,
        /// At most what is left uncorrected; `None` for all of it.
        amount: Option<Money>,
        /// Why (at most [`CORRECTION_REASON_BYTES_MAX`](super::CORRECTION_REASON_BYTES_MAX)).
        reason: String,
    },
}

/// A balance-conditional write: the transfer happens only if, afterwards, `account`'s
/// [`Balance::available`] is at least `at_least`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct BalanceCondition {
    /// The debit or the credit account of the transfer.
    pub account: AccountId,
    /// The floor, in the account's asset.
    pub at_least: Money,
}

/// A request to move money.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct NewTransfer {
    /// Client-generated; retrying the same request with the same id is a no-op returning the
    /// original; the same id with other fields is [`Rejection::IdempotencyConflict`].
    pub id: TransferId,
    /// What it does.
    pub kind: TransferKind,
    /// A caller-defined reason code.
    pub code: u16,
    /// A caller reference (invoice, card authorisation id), at most
    /// [`REFERENCE_BYTES_MAX`](super::REFERENCE_BYTES_MAX) bytes.
    pub reference: Option<String>,
    /// The effective (value) date; `None` for the command's time. Never in the future.
    pub effective_at: Option<DateTime<Utc>>,
    /// An optional balance condition.
    pub condition: Option<BalanceCondition>,
}

impl NewTransfer {
    /// A request of `kind` with code 0, no reference, effective now, unconditional.
    pub fn new(id: TransferId, kind: TransferKind) -> Self {
        Self { id, kind, code: 0, reference: None, effective_at: None, condition: None }
    }

    /// An immediate transfer of `amount` from `debit` to `credit`.
    pub fn posted(id: TransferId, debit: AccountId, credit: AccountId, amount: Money) -> Self {
        Self::new(id, TransferKind::Posted { leg: Leg { debit, credit, amount } })
    }

    /// A reservation of `amount` that lapses after `timeout_secs`.
    pub fn pending(
        id: TransferId,
        debit: AccountId,
        credit: AccountId,
        amount: Money,
        timeout_secs: Option<u32>,
    ) -> Self {
        Self::new(id, TransferKind::Pending { leg: Leg { debit, credit, amount }, timeout_secs })
    }

    /// Posts `pending` (all of it with `amount: None`).
    pub fn post(id: TransferId, pending: TransferId, amount: Option<Money>) -> Self {
        Self::new(id, TransferKind::PostPending { pending, amount })
    }

    /// Voids `pending`.
    pub fn void(id: TransferId, pending: TransferId) -> Self {
        Self::new(id, TransferKind::VoidPending { pending })
    }

    /// Corrects `original` (all of what is left with `amount: None`).
    pub fn correction(
        id: TransferId,
        original: TransferId,
        amount: Option<Money>,
        reason: &str,
    ) -> Self {
        Self::new(id, TransferKind::Correction { original, amount, reason: reason.to_owned() })
    }

    /// Sets the code.
    #[must_use]
    pub fn code(mut self, code: u16) -> Self {
        self.code = code;
        self
    }

    /// Sets the reference.
    #[must_use]
    pub fn reference(mut self, reference: &str) -> Self {
        self.reference = Some(reference.to_owned());
        self
    }

    /// Sets the effective date.
    #[must_use]
    pub fn effective_at(mut self, at: DateTime<Utc>) -> Self {
        self.effective_at = Some(at);
        self
    }

    /// Adds a balance condition.
    #[must_use]
    pub fn only_if(mut self, account: AccountId, at_least: Money) -> Self {
        self.condition = Some(BalanceCondition { account, at_least });
        self
    }
}

/// How a recorded transfer moved its amount.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Phase {
    /// Posted at once (plain, balancing and correction transfers).
    Posted,
    /// Reserved; `deadline` is when the reservation lapses.
    Pending {
        /// The lapse instant, `None` for never.
        deadline: Option<DateTime<Utc>>,
    },
    /// Posted `amount` of a pending transfer and released the rest.
    Post {
        /// The pending transfer.
        pending: TransferId,
    },
    /// Released a pending transfer.
    Void {
        /// The pending transfer.
        pending: TransferId,
    },
}

/// A transfer as recorded: the request and what it resolved to. The running balances right after
/// it travel with the event ([`Transferred`]).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Transfer {
    /// The request as submitted (compared on retries).
    pub request: NewTransfer,
    /// How the amount moved.
    pub phase: Phase,
    /// The debited account.
    pub debit_account: AccountId,
    /// The credited account.
    pub credit_account: AccountId,
    /// The amount moved, reserved (pending) or released (void).
    pub amount: Money,
    /// The effective instant (µs).
    pub effective_at: DateTime<Utc>,
    /// The command's instant.
    pub recorded_at: DateTime<Utc>,
}

/// The payload of [`LedgerEvent::Transferred`]: the transfer and the running balances of both
/// accounts right after it, in the book's recorded order.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Transferred {
    /// The transfer.
    pub transfer: Transfer,
    /// The debit account's balance right after it.
    pub debit_balance: Balance,
    /// The credit account's balance right after it.
    pub credit_balance: Balance,
}

impl Transfer {
    /// The transfer's id.
    pub fn id(&self) -> TransferId {
        self.request.id
    }
}

/// The state of a pending transfer.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PendingStatus {
    /// Still reserving.
    Open,
    /// Posted (`amount` of it).
    Posted {
        /// What was posted.
        amount: i128,
    },
    /// Voided.
    Voided,
    /// Lapsed at its deadline.
    Expired,
}

/// One entry of a ledger batch ([`Ledger::submit`](crate::Ledger::submit),
/// [`LedgerBook::decide_batch`](crate::LedgerBook::decide_batch)).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum BatchEntry {
    /// A transfer that stands or falls alone.
    Single(NewTransfer),
    /// A linked chain: every member or none (at most
    /// [`LINKED_TRANSFERS_MAX`](crate::LINKED_TRANSFERS_MAX)).
    Linked(Vec<NewTransfer>),
}

impl BatchEntry {
    /// The transfer requests of the entry, in order.
    pub fn requests(&self) -> &[NewTransfer] {
        match self {
            Self::Single(request) => std::slice::from_ref(request),
            Self::Linked(requests) => requests,
        }
    }
}

/// What callers ask a ledger book to do.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Command {
    /// Opens accounts, all or none. Re-opening an identical account is a no-op.
    OpenAccounts(Vec<NewAccount>),
    /// Closes an account with no open reservations. Closing a closed account is a no-op.
    CloseAccount(AccountId),
    /// One transfer.
    Transfer(NewTransfer),
    /// Linked transfers: all succeed or none does; the failure names the member.
    Linked(Vec<NewTransfer>),
    /// Records the lapse of reservations whose deadline has passed.
    ExpirePending,
}

/// What happened in a ledger book.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum LedgerEvent {
    /// An account was opened.
    AccountOpened(Box<Account>),
    /// An account was closed.
    AccountClosed {
        /// The account.
        account: AccountId,
        /// When.
        at: DateTime<Utc>,
    },
    /// A transfer was recorded, with the running balances after it.
    Transferred(Box<Transferred>),
    /// Several transfers of one batch ([`LedgerBook::decide_batch`](crate::LedgerBook::decide_batch)),
    /// in order, all with the same effective instant: at most
    /// [`TRANSFERS_PER_EVENT_MAX`](crate::TRANSFERS_PER_EVENT_MAX) per event, so a batch of
    /// thousands of transfers is a handful of events in one append.
    TransferredBatch(Vec<Transferred>),
    /// A pending transfer lapsed at its deadline.
    PendingExpired {
        /// The pending transfer.
        pending: TransferId,
        /// Its deadline.
        at: DateTime<Utc>,
    },
}

impl DomainEvent for LedgerEvent {
    fn event_type(&self) -> &'static str {
        match self {
            Self::AccountOpened(_) => "AccountOpened",
            Self::AccountClosed { .. } => "AccountClosed",
            Self::Transferred(_) => "Transferred",
            Self::TransferredBatch(_) => "TransferredBatch",
            Self::PendingExpired { .. } => "PendingExpired",
        }
    }

    fn occurred_at(&self) -> Option<DateTime<Utc>> {
        Some(match self {
            Self::AccountOpened(account) => account.opened_at(),
            Self::AccountClosed { at, .. } | Self::PendingExpired { at, .. } => *at,
            Self::Transferred(recorded) => recorded.transfer.effective_at,
            Self::TransferredBatch(batch) => {
                return batch.first().map(|recorded| recorded.transfer.effective_at);
            }
        })
    }
}
