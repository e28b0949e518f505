//! [`LedgerBook`]: the double-entry aggregate — state, `decide` and `apply`.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use chrono::{DateTime, Duration, Utc};
use serde::{Deserialize, Serialize};

use super::hash::IdHash;
use super::types::{
    Account, AccountId, Balance, BalancingSide, Command, LedgerEvent, Leg, NewAccount, NewTransfer,
    PendingStatus, Phase, Rejection, Transfer, TransferId, TransferKind, Transferred,
};
use super::{
    CORRECTION_REASON_BYTES_MAX, EXPIRE_PER_COMMAND_MAX, LINKED_TRANSFERS_MAX, OPEN_ACCOUNTS_MAX,
    REFERENCE_BYTES_MAX,
};
use fintra_core::limits::{HEADER_NAME_BYTES_MAX, HEADER_VALUE_BYTES_MAX, HEADERS_MAX};
use fintra_core::{Aggregate, Asset, DecideContext, Error, truncate_to_micros};

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
struct Entry {
    account: Account,
    balance: Balance,
}

/// One book of a ledger: accounts and the transfers between them, kept in one event stream
/// (`ledger-…`), so every transfer inside it is atomic and checked against current balances.
///
/// Invariants, checked by `decide` and by the property tests:
/// - per ledger and asset, posted debits equal posted credits and pending debits equal pending
///   credits ([`LedgerBook::trial_balance`]);
/// - no account crosses the bound of its flag;
/// - a transfer id is applied at most once; replaying the log yields the same state.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct LedgerBook {
    accounts: HashMap<AccountId, Entry, IdHash>,
    transfers: TransferLog,
    pending: HashMap<TransferId, PendingStatus, IdHash>,
    deadlines: BTreeSet<(DateTime<Utc>, TransferId)>,
    corrected: HashMap<TransferId, i128, IdHash>,
}

impl LedgerBook {
    /// The account, if this book holds it.
    pub fn account(&self, id: AccountId) -> Option<&Account> {
        self.accounts.get(&id).map(|e| &e.account)
    }

    /// The account's balance, if this book holds it.
    pub fn balance(&self, id: AccountId) -> Option<Balance> {
        self.accounts.get(&id).map(|e| e.balance)
    }

    /// Every account, in no particular order.
    pub fn accounts(&self) -> impl Iterator<Item = (&Account, Balance)> {
        self.accounts.values().map(|e| (&e.account, e.balance))
    }

    /// A recorded transfer (the original result for a retried id).
    pub fn transfer(&self, id: TransferId) -> Option<&Transfer> {
        self.transfers.get(id)
    }

    /// Pending transfers that are still open.
    pub fn open_pending(&self) -> impl Iterator<Item = &Transfer> {
        self.pending
            .iter()
            .filter(|(_, status)| **status == PendingStatus::Open)
            .filter_map(|(id, _)| self.transfers.get(*id))
    }

    /// How many transfers the book holds.
    pub fn transfer_count(&self) -> usize {
        self.transfers.len()
    }

    /// What became of a pending transfer.
    pub fn pending_status(&self, id: TransferId) -> Option<PendingStatus> {
        self.pending.get(&id).copied()
    }

    /// Open pending transfers whose deadline is at or before `now`, oldest first.
    pub fn lapsed(&self, now: DateTime<Utc>) -> impl Iterator<Item = (DateTime<Utc>, TransferId)> {
        self.deadlines.iter().take_while(move |(deadline, _)| *deadline <= now).copied()
    }

    /// Totals per ledger and asset. Double entry holds when, in each, posted debits equal posted
    /// credits and pending debits equal pending credits ([`TrialBalance::is_balanced`]).
    pub fn trial_balance(&self) -> BTreeMap<(u32, Asset), TrialBalance> {
        let mut totals: BTreeMap<(u32, Asset), TrialBalance> = BTreeMap::new();
        for entry in self.accounts.values() {
            let key = (entry.account.spec.ledger, entry.account.spec.asset);
            let total = totals.entry(key).or_default();
            total.add(&entry.balance);
        }
        totals
    }

    fn lapsed_now(&self, now: DateTime<Utc>) -> Vec<(DateTime<Utc>, TransferId)> {
        self.lapsed(now).take(EXPIRE_PER_COMMAND_MAX).collect()
    }
}

/// Recorded transfers in order, with an id index. The records sit in one growing `Vec` (large
/// reallocations move pages, not bytes) and the index holds only positions, so a book with
/// millions of transfers grows cheaply. Serialized as the list of records.
#[derive(Clone, Debug, Default)]
struct TransferLog {
    records: Vec<Transfer>,
    index: HashMap<TransferId, usize, IdHash>,
}

impl TransferLog {
    fn get(&self, id: TransferId) -> Option<&Transfer> {
        self.index.get(&id).and_then(|i| self.records.get(*i))
    }

    fn push(&mut self, transfer: Transfer) {
        self.index.insert(transfer.id(), self.records.len());
        self.records.push(transfer);
    }

    fn len(&self) -> usize {
        self.records.len()
    }
}

impl PartialEq for TransferLog {
    fn eq(&self, other: &Self) -> bool {
        self.records == other.records
    }
}

impl Serialize for TransferLog {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        self.records.serialize(serializer)
    }
}

impl<'de> Deserialize<'de> for TransferLog {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let records = Vec::<Transfer>::deserialize(deserializer)?;
        let mut log = Self::default();
        for transfer in records {
            if log.get(transfer.id()).is_some() {
                return Err(serde::de::Error::custom(format!(
                    "transfer {} appears twice in the snapshot",
                    transfer.id()
                )));
            }
            log.push(transfer);
        }
        Ok(log)
    }
}

/// An exact sum of non-negative `i128` totals: 128 low bits plus a carry count, so no realistic
/// number of accounts can overflow it.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
struct WideSum {
    carries: u64,
    low: u128,
    negative_seen: bool,
}

impl WideSum {
    fn add(&mut self, value: i128) {
        let Ok(value) = u128::try_from(value) else {
            self.negative_seen = true;
            return;
        };
        let (low, carried) = self.low.overflowing_add(value);
        self.low = low;
        self.carries = self.carries.saturating_add(u64::from(carried));
    }

    fn merge(&mut self, other: &Self) {
        let (low, carried) = self.low.overflowing_add(other.low);
        self.low = low;
        self.carries =
            self.carries.saturating_add(other.carries).saturating_add(u64::from(carried));
        self.negative_seen |= other.negative_seen;
    }

    fn get(&self) -> Option<i128> {
        if self.carries > 0 || self.negative_seen { None } else { i128::try_from(self.low).ok() }
    }
}

/// Sums over all accounts of one ledger and asset, computed exactly (wider than `i128`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct TrialBalance {
    debits_posted: WideSum,
    credits_posted: WideSum,
    debits_pending: WideSum,
    credits_pending: WideSum,
    accounts: usize,
}

impl TrialBalance {
    fn add(&mut self, balance: &Balance) {
        self.debits_posted.add(balance.debits_posted);
        self.credits_posted.add(balance.credits_posted);
        self.debits_pending.add(balance.debits_pending);
        self.credits_pending.add(balance.credits_pending);
        self.accounts = self.accounts.saturating_add(1);
    }

    /// Adds another book's totals (for a ledger spread over books).
    pub fn merge(&mut self, other: &Self) {
        self.debits_posted.merge(&other.debits_posted);
        self.credits_posted.merge(&other.credits_posted);
        self.debits_pending.merge(&other.debits_pending);
        self.credits_pending.merge(&other.credits_pending);
        self.accounts = self.accounts.saturating_add(other.accounts);
    }

    /// Debits equal credits, posted and pending, and no total is negative.
    pub fn is_balanced(&self) -> bool {
        let no_negative = !(self.debits_posted.negative_seen
            || self.credits_posted.negative_seen
            || self.debits_pending.negative_seen
            || self.credits_pending.negative_seen);
        no_negative
            && self.debits_posted == self.credits_posted
            && self.debits_pending == self.credits_pending
    }

    /// Total posted debits, if it fits an `i128`.
    pub fn posted(&self) -> Option<i128> {
        self.debits_posted.get()
    }

    /// Total pending debits, if it fits an `i128`.
    pub fn pending(&self) -> Option<i128> {
        self.debits_pending.get()
    }

    /// How many accounts were summed.
    pub fn accounts(&self) -> usize {
        self.accounts
    }
}

mod batch;
mod decide;
mod fold;

pub(crate) use batch::BATCH_EVENTS_WHAT;
pub use batch::BatchDecision;

use decide::{check_account, not_in_future, same_account, too_large};
use fold::{BookState, FoldError, Overlay, fold_expiry, fold_transfer};

/// A stored transfer or lapse that cannot be folded (only a log this code did not write has one).
fn unfoldable(id: TransferId, error: &FoldError) -> Error {
    match error {
        FoldError::Overflow(account) => Error::corrupted(format!(
            "transfer {id} would overflow the totals of account {account}"
        )),
        FoldError::Missing => Error::corrupted(format!(
            "transfer {id} names an account or reservation that does not exist"
        )),
    }
}

impl LedgerBook {
    /// Expiry events for lapsed reservations, folded into `work`.
    fn expire_into(&self, work: &mut Overlay<'_>, now: DateTime<Utc>) -> Vec<LedgerEvent> {
        let mut events = Vec::new();
        if self.deadlines.first().is_none_or(|(deadline, _)| *deadline > now) {
            return events; // the common case: nothing lapsed, nothing to collect
        }
        for (at, pending) in self.lapsed_now(now) {
            if fold_expiry(work, pending).is_ok() {
                events.push(LedgerEvent::PendingExpired { pending, at });
            }
        }
        events
    }

    fn decide_open(
        &self,
        accounts: &[NewAccount],
        now: DateTime<Utc>,
    ) -> Result<Vec<LedgerEvent>, Rejection> {
        if accounts.is_empty() {
            return Err(Rejection::EmptyBatch);
        }
        too_large("accounts per command", OPEN_ACCOUNTS_MAX, accounts.len())?;
        let mut events: Vec<LedgerEvent> = Vec::new();
        for request in accounts {
            check_account(request)?;
            let opened_at = not_in_future(request.opened_at.unwrap_or(now), now)?;
            let earlier = events.iter().find_map(|e| match e {
                LedgerEvent::AccountOpened(a) if a.id() == request.id => Some(&a.spec),
                _ => None,
            });
            if let Some(existing) = earlier.or_else(|| self.account(request.id).map(|a| &a.spec)) {
                if same_account(existing, request) {
                    continue;
                }
                return Err(Rejection::AccountExists { account: request.id });
            }
            let spec = NewAccount { opened_at: Some(opened_at), ..request.clone() };
            events.push(LedgerEvent::AccountOpened(Box::new(Account { spec, closed_at: None })));
        }
        Ok(events)
    }

    fn decide_close(
        &self,
        account: AccountId,
        now: DateTime<Utc>,
    ) -> Result<Vec<LedgerEvent>, Rejection> {
        let entry = self.accounts.get(&account).ok_or(Rejection::AccountNotFound { account })?;
        if entry.account.closed_at.is_some() {
            return Ok(Vec::new());
        }
        let mut work = Overlay::new(self);
        let mut events = self.expire_into(&mut work, now);
        let balance = work.balance(account).unwrap_or_default();
        if balance.debits_pending != 0 || balance.credits_pending != 0 {
            return Err(Rejection::AccountHasPending { account });
        }
        events.push(LedgerEvent::AccountClosed { account, at: now });
        Ok(events)
    }

    fn decide_transfers(
        &self,
        requests: &[NewTransfer],
        linked: bool,
        now: DateTime<Utc>,
    ) -> Result<Vec<LedgerEvent>, Rejection> {
        let mut work = Overlay::new(self);
        let mut events = self.expire_into(&mut work, now);
        let accepted = batch::decide_requests(&mut work, requests, linked, now)?;
        if accepted.is_empty() {
            // Every transfer was a retry: change nothing, so the retry is a pure no-op.
            return Ok(Vec::new());
        }
        events.extend(accepted.into_iter().map(|t| LedgerEvent::Transferred(Box::new(t))));
        Ok(events)
    }
}

impl LedgerBook {
    fn apply_transfer(&mut self, transfer: &Transfer) -> fintra_core::Result<()> {
        if self.transfers.get(transfer.id()).is_some() {
            return Err(Error::corrupted(format!("transfer {} is recorded twice", transfer.id())));
        }
        // A fold fails only for a log this code did not write: nothing is half-applied, and the
        // repository reports the event as corrupted.
        fold_transfer(self, transfer).map_err(|e| unfoldable(transfer.id(), &e))?;
        if let Phase::Pending { deadline: Some(deadline) } = transfer.phase {
            self.deadlines.insert((deadline, transfer.id()));
        }
        self.transfers.push(transfer.clone());
        Ok(())
    }
}

impl Aggregate for LedgerBook {
    const CATEGORY: &'static str = "ledger";

    type Command = Command;
    type Event = LedgerEvent;
    type Error = Rejection;

    fn decide(
        &self,
        command: &Command,
        ctx: &DecideContext<'_>,
    ) -> Result<Vec<LedgerEvent>, Rejection> {
        let now = truncate_to_micros(ctx.now());
        match command {
            Command::OpenAccounts(accounts) => self.decide_open(accounts, now),
            Command::CloseAccount(account) => self.decide_close(*account, now),
            Command::Transfer(request) => {
                self.decide_transfers(std::slice::from_ref(request), false, now)
            }
            Command::Linked(requests) => {
                if requests.is_empty() {
                    return Err(Rejection::EmptyBatch);
                }
                too_large("linked transfers", LINKED_TRANSFERS_MAX, requests.len())?;
                self.decide_transfers(requests, true, now)
            }
            Command::ExpirePending => {
                let mut work = Overlay::new(self);
                Ok(self.expire_into(&mut work, now))
            }
        }
    }

    fn apply(&mut self, event: &LedgerEvent) {
        // Decided events always fold. An impossible one (only a log this code did not write has
        // one) is left out here — for a `TransferredBatch`, from the failing member on — and
        // replays, which go through `try_apply`, report it as corrupted.
        let _ = self.try_apply(event);
    }

    fn try_apply(&mut self, event: &LedgerEvent) -> fintra_core::Result<()> {
        match event {
            LedgerEvent::AccountOpened(account) => {
                self.accounts.entry(account.id()).or_insert_with(|| Entry {
                    account: (**account).clone(),
                    balance: Balance::default(),
                });
            }
            LedgerEvent::AccountClosed { account, at } => {
                if let Some(entry) = self.accounts.get_mut(account) {
                    entry.account.closed_at = Some(*at);
                }
            }
            LedgerEvent::Transferred(recorded) => self.apply_transfer(&recorded.transfer)?,
            LedgerEvent::TransferredBatch(batch) => {
                // A member that cannot be folded (only a log this code did not write has one)
                // fails the load, so the half-applied state is never used.
                for recorded in batch {
                    self.apply_transfer(&recorded.transfer)?;
                }
            }
            LedgerEvent::PendingExpired { pending, .. } => {
                let status = self.pending.get(pending).copied();
                if status != Some(PendingStatus::Open) {
                    return Err(Error::corrupted(format!(
                        "reservation {pending} lapses, but it is {status:?}, not open"
                    )));
                }
                fold_expiry(self, *pending).map_err(|e| unfoldable(*pending, &e))?;
            }
        }
        Ok(())
    }
}
