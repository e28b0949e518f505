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
use crate::limits::{HEADER_NAME_BYTES_MAX, HEADER_VALUE_BYTES_MAX, HEADERS_MAX};
use crate::{Aggregate, Asset, DecideContext, truncate_to_micros};

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

// ---------------------------------------------------------------------------------------------
// Folding: one implementation shared by `apply` (the real state) and `decide` (an overlay).

/// Read/write access to the parts of a book a fold touches.
trait BookState {
    fn account(&self, id: AccountId) -> Option<&Account>;
    fn balance(&self, id: AccountId) -> Option<Balance>;
    fn set_balance(&mut self, id: AccountId, balance: Balance);
    fn transfer(&self, id: TransferId) -> Option<&Transfer>;
    fn pending_status(&self, id: TransferId) -> Option<PendingStatus>;
    fn set_pending(&mut self, id: TransferId, status: PendingStatus);
    fn corrected(&self, id: TransferId) -> i128;
    fn set_corrected(&mut self, id: TransferId, amount: i128);
}

/// A fold that cannot happen: `decide` turns it into a rejection; `apply` leaves the state as it
/// was (it only arises from a log this code did not write).
enum FoldError {
    Overflow(AccountId),
    Missing,
}

fn add(a: i128, b: i128, account: AccountId) -> Result<i128, FoldError> {
    a.checked_add(b).ok_or(FoldError::Overflow(account))
}

fn sub(a: i128, b: i128, account: AccountId) -> Result<i128, FoldError> {
    a.checked_sub(b).ok_or(FoldError::Overflow(account))
}

/// Moves a transfer's amounts into both balances and records what it did to pending transfers.
/// Nothing changes unless everything fits.
fn fold_transfer<B: BookState>(book: &mut B, t: &Transfer) -> Result<(), FoldError> {
    let (debit_id, credit_id) = (t.debit_account, t.credit_account);
    let mut debit = book.balance(debit_id).ok_or(FoldError::Missing)?;
    let mut credit = book.balance(credit_id).ok_or(FoldError::Missing)?;
    let amount = t.amount.minor();
    match t.phase {
        Phase::Posted => {
            debit.debits_posted = add(debit.debits_posted, amount, debit_id)?;
            credit.credits_posted = add(credit.credits_posted, amount, credit_id)?;
        }
        Phase::Pending { .. } => {
            debit.debits_pending = add(debit.debits_pending, amount, debit_id)?;
            credit.credits_pending = add(credit.credits_pending, amount, credit_id)?;
        }
        Phase::Post { pending } => {
            let reserved = book.transfer(pending).ok_or(FoldError::Missing)?.amount.minor();
            debit.debits_pending = sub(debit.debits_pending, reserved, debit_id)?;
            credit.credits_pending = sub(credit.credits_pending, reserved, credit_id)?;
            debit.debits_posted = add(debit.debits_posted, amount, debit_id)?;
            credit.credits_posted = add(credit.credits_posted, amount, credit_id)?;
        }
        Phase::Void { .. } => {
            debit.debits_pending = sub(debit.debits_pending, amount, debit_id)?;
            credit.credits_pending = sub(credit.credits_pending, amount, credit_id)?;
        }
    }
    let corrected = match &t.request.kind {
        TransferKind::Correction { original, .. } => {
            Some((*original, add(book.corrected(*original), amount, debit_id)?))
        }
        _ => None,
    };
    book.set_balance(debit_id, debit);
    book.set_balance(credit_id, credit);
    if let Some((original, total)) = corrected {
        book.set_corrected(original, total);
    }
    match t.phase {
        Phase::Pending { .. } => book.set_pending(t.id(), PendingStatus::Open),
        Phase::Post { pending } => book.set_pending(pending, PendingStatus::Posted { amount }),
        Phase::Void { pending } => book.set_pending(pending, PendingStatus::Voided),
        Phase::Posted => {}
    }
    Ok(())
}

/// Releases a lapsed reservation.
fn fold_expiry<B: BookState>(book: &mut B, pending: TransferId) -> Result<(), FoldError> {
    let t = book.transfer(pending).ok_or(FoldError::Missing)?;
    let (debit_id, credit_id, amount) = (t.debit_account, t.credit_account, t.amount.minor());
    let mut debit = book.balance(debit_id).ok_or(FoldError::Missing)?;
    let mut credit = book.balance(credit_id).ok_or(FoldError::Missing)?;
    debit.debits_pending = sub(debit.debits_pending, amount, debit_id)?;
    credit.credits_pending = sub(credit.credits_pending, amount, credit_id)?;
    book.set_balance(debit_id, debit);
    book.set_balance(credit_id, credit);
    book.set_pending(pending, PendingStatus::Expired);
    Ok(())
}

impl BookState for LedgerBook {
    fn account(&self, id: AccountId) -> Option<&Account> {
        LedgerBook::account(self, id)
    }
    fn balance(&self, id: AccountId) -> Option<Balance> {
        LedgerBook::balance(self, id)
    }
    fn set_balance(&mut self, id: AccountId, balance: Balance) {
        if let Some(entry) = self.accounts.get_mut(&id) {
            entry.balance = balance;
        }
    }
    fn transfer(&self, id: TransferId) -> Option<&Transfer> {
        self.transfers.get(id)
    }
    fn pending_status(&self, id: TransferId) -> Option<PendingStatus> {
        self.pending.get(&id).copied()
    }
    fn set_pending(&mut self, id: TransferId, status: PendingStatus) {
        if status != PendingStatus::Open
            && let Some(Phase::Pending { deadline: Some(deadline) }) =
                self.transfers.get(id).map(|t| t.phase)
        {
            self.deadlines.remove(&(deadline, id));
        }
        self.pending.insert(id, status);
    }
    fn corrected(&self, id: TransferId) -> i128 {
        self.corrected.get(&id).copied().unwrap_or(0)
    }
    fn set_corrected(&mut self, id: TransferId, amount: i128) {
        self.corrected.insert(id, amount);
    }
}

/// What one command changes, layered over the book without copying it: later members of a
/// linked batch see earlier ones, and a rejection discards the overlay.
struct Overlay<'a> {
    book: &'a LedgerBook,
    balances: Slots,
    transfers: Vec<Transfer>,
    pending: Vec<(TransferId, PendingStatus)>,
    corrected: Vec<(TransferId, i128)>,
}

impl<'a> Overlay<'a> {
    fn new(book: &'a LedgerBook) -> Self {
        Self {
            book,
            balances: Slots::default(),
            transfers: Vec::new(),
            pending: Vec::new(),
            corrected: Vec::new(),
        }
    }
}

/// Changed balances: a single transfer touches two accounts, kept inline without allocating;
/// a linked batch spills into a `Vec`.
#[derive(Default)]
struct Slots {
    inline: [Option<(AccountId, Balance)>; 2],
    spill: Vec<(AccountId, Balance)>,
}

impl Slots {
    fn get(&self, id: AccountId) -> Option<Balance> {
        self.inline
            .iter()
            .flatten()
            .chain(self.spill.iter())
            .find(|(k, _)| *k == id)
            .map(|(_, balance)| *balance)
    }

    fn set(&mut self, id: AccountId, balance: Balance) {
        for slot in &mut self.inline {
            match slot {
                Some((k, value)) if *k == id => {
                    *value = balance;
                    return;
                }
                None => {
                    *slot = Some((id, balance));
                    return;
                }
                Some(_) => {}
            }
        }
        upsert(&mut self.spill, id, balance);
    }
}

fn upsert<K: PartialEq, V>(items: &mut Vec<(K, V)>, key: K, value: V) {
    match items.iter_mut().find(|(k, _)| *k == key) {
        Some(slot) => slot.1 = value,
        None => items.push((key, value)),
    }
}

impl BookState for Overlay<'_> {
    fn account(&self, id: AccountId) -> Option<&Account> {
        self.book.account(id)
    }
    fn balance(&self, id: AccountId) -> Option<Balance> {
        self.balances.get(id).or_else(|| self.book.balance(id))
    }
    fn set_balance(&mut self, id: AccountId, balance: Balance) {
        self.balances.set(id, balance);
    }
    fn transfer(&self, id: TransferId) -> Option<&Transfer> {
        self.transfers.iter().find(|t| t.id() == id).or_else(|| self.book.transfer(id))
    }
    fn pending_status(&self, id: TransferId) -> Option<PendingStatus> {
        match self.pending.iter().find(|(k, _)| *k == id) {
            Some((_, status)) => Some(*status),
            None => self.book.pending_status(id),
        }
    }
    fn set_pending(&mut self, id: TransferId, status: PendingStatus) {
        upsert(&mut self.pending, id, status);
    }
    fn corrected(&self, id: TransferId) -> i128 {
        match self.corrected.iter().find(|(k, _)| *k == id) {
            Some((_, amount)) => *amount,
            None => self.book.corrected(id),
        }
    }
    fn set_corrected(&mut self, id: TransferId, amount: i128) {
        upsert(&mut self.corrected, id, amount);
    }
}

// ---------------------------------------------------------------------------------------------
// Deciding.

fn too_large(what: &'static str, max: usize, actual: usize) -> Result<(), Rejection> {
    if actual > max { Err(Rejection::TooLarge { what, max, actual }) } else { Ok(()) }
}

fn not_in_future(at: DateTime<Utc>, now: DateTime<Utc>) -> Result<DateTime<Utc>, Rejection> {
    let at = truncate_to_micros(at);
    if at > now { Err(Rejection::InFuture { at, now }) } else { Ok(at) }
}

fn not_before(at: DateTime<Utc>, earliest: DateTime<Utc>) -> Result<(), Rejection> {
    if at < earliest { Err(Rejection::EffectiveTooEarly { at, earliest }) } else { Ok(()) }
}

fn check_account(spec: &NewAccount) -> Result<(), Rejection> {
    if spec.flags.debits_must_not_exceed_credits && spec.flags.credits_must_not_exceed_debits {
        return Err(Rejection::ConflictingFlags { account: spec.id });
    }
    too_large("account metadata entries", HEADERS_MAX, spec.metadata.len())?;
    for (key, value) in &spec.metadata {
        too_large("account metadata key bytes", HEADER_NAME_BYTES_MAX, key.len())?;
        too_large("account metadata value bytes", HEADER_VALUE_BYTES_MAX, value.len())?;
    }
    Ok(())
}

/// Opening the same account again is a no-op only if nothing but a defaulted `opened_at` differs.
fn same_account(existing: &NewAccount, request: &NewAccount) -> bool {
    let opened_matches = request.opened_at.is_none()
        || request.opened_at.map(truncate_to_micros) == existing.opened_at;
    opened_matches
        && NewAccount { opened_at: None, ..existing.clone() }
            == NewAccount { opened_at: None, ..request.clone() }
}

/// The two open accounts of a leg, checked against its amount.
fn open_pair<'b, B: BookState>(
    book: &'b B,
    id: TransferId,
    leg: &Leg,
) -> Result<(&'b Account, &'b Account), Rejection> {
    if leg.amount.minor() <= 0 {
        return Err(Rejection::AmountNotPositive { id });
    }
    if leg.debit == leg.credit {
        return Err(Rejection::SameAccount { id });
    }
    let debit = open_account(book, leg.debit)?;
    let credit = open_account(book, leg.credit)?;
    for account in [debit, credit] {
        if account.spec.asset != leg.amount.asset() {
            return Err(Rejection::CurrencyMismatch {
                account: account.id(),
                expected: account.spec.asset,
                given: leg.amount.asset(),
            });
        }
    }
    if debit.spec.ledger != credit.spec.ledger {
        return Err(Rejection::LedgerMismatch {
            debit: debit.spec.ledger,
            credit: credit.spec.ledger,
        });
    }
    Ok((debit, credit))
}

fn open_account<B: BookState>(book: &B, id: AccountId) -> Result<&Account, Rejection> {
    let account = book.account(id).ok_or(Rejection::AccountNotFound { account: id })?;
    if account.closed_at.is_some() {
        return Err(Rejection::AccountClosed { account: id });
    }
    Ok(account)
}

/// The open pending transfer `pending` refers to.
fn open_pending<B: BookState>(
    book: &B,
    pending: TransferId,
    now: DateTime<Utc>,
) -> Result<&Transfer, Rejection> {
    let t = book.transfer(pending).ok_or(Rejection::TransferNotFound { id: pending })?;
    let Phase::Pending { deadline } = t.phase else {
        return Err(Rejection::NotPending { id: pending });
    };
    let status = book.pending_status(pending).unwrap_or(PendingStatus::Open);
    if status != PendingStatus::Open {
        return Err(Rejection::PendingNotOpen { pending, status });
    }
    if deadline.is_some_and(|d| d <= now) {
        return Err(Rejection::PendingNotOpen { pending, status: PendingStatus::Expired });
    }
    Ok(t)
}

/// A partial amount in `asset`, positive; `None` means `default`.
fn part(
    id: TransferId,
    account: AccountId,
    asset: Asset,
    amount: Option<crate::Money>,
    default: i128,
) -> Result<i128, Rejection> {
    let Some(amount) = amount else { return Ok(default) };
    if amount.asset() != asset {
        return Err(Rejection::CurrencyMismatch {
            account,
            expected: asset,
            given: amount.asset(),
        });
    }
    if amount.minor() <= 0 {
        return Err(Rejection::AmountNotPositive { id });
    }
    Ok(amount.minor())
}

/// Decides one transfer against the overlay; `Ok(None)` for an identical retry.
fn decide_transfer(
    work: &mut Overlay<'_>,
    request: &NewTransfer,
    now: DateTime<Utc>,
) -> Result<Option<Transferred>, Rejection> {
    let id = request.id;
    if let Some(existing) = work.transfer(id) {
        return if existing.request == *request {
            Ok(None)
        } else {
            Err(Rejection::IdempotencyConflict { id })
        };
    }
    if let Some(reference) = &request.reference {
        too_large("transfer reference bytes", REFERENCE_BYTES_MAX, reference.len())?;
    }
    let effective_at = not_in_future(request.effective_at.unwrap_or(now), now)?;

    let (phase, debit_account, credit_account, amount, earliest) = match &request.kind {
        TransferKind::Posted { leg } => {
            let (debit, credit) = open_pair(work, id, leg)?;
            let earliest = debit.opened_at().max(credit.opened_at());
            (Phase::Posted, leg.debit, leg.credit, leg.amount, earliest)
        }
        TransferKind::Pending { leg, timeout_secs } => {
            let (debit, credit) = open_pair(work, id, leg)?;
            let earliest = debit.opened_at().max(credit.opened_at());
            let deadline = match timeout_secs {
                None => None,
                Some(0) => {
                    return Err(Rejection::Invalid {
                        field: "timeout_secs",
                        reason: "must be at least 1 second (use None for no timeout)",
                    });
                }
                Some(secs) => Some(now + Duration::seconds(i64::from(*secs))),
            };
            (Phase::Pending { deadline }, leg.debit, leg.credit, leg.amount, earliest)
        }
        TransferKind::PostPending { pending, amount } => {
            let p = open_pending(work, *pending, now)?;
            let reserved = p.amount.minor();
            let posted = part(id, p.debit_account, p.amount.asset(), *amount, reserved)?;
            if posted > reserved {
                return Err(Rejection::PostExceedsPending {
                    pending: *pending,
                    reserved,
                    requested: posted,
                });
            }
            let amount = crate::Money::new(posted, p.amount.asset());
            let phase = Phase::Post { pending: *pending };
            (phase, p.debit_account, p.credit_account, amount, p.effective_at)
        }
        TransferKind::VoidPending { pending } => {
            let p = open_pending(work, *pending, now)?;
            let phase = Phase::Void { pending: *pending };
            (phase, p.debit_account, p.credit_account, p.amount, p.effective_at)
        }
        TransferKind::Balancing { leg, side } => {
            let (debit, credit) = open_pair(work, id, leg)?;
            let earliest = debit.opened_at().max(credit.opened_at());
            let headroom = match side {
                BalancingSide::Debit => work.balance(leg.debit).map(|b| b.debit_headroom()),
                BalancingSide::Credit => work.balance(leg.credit).map(|b| b.credit_headroom()),
            }
            .unwrap_or(0);
            let moved = leg.amount.minor().min(headroom);
            if moved <= 0 {
                return Err(Rejection::NothingAvailable { id });
            }
            let amount = crate::Money::new(moved, leg.amount.asset());
            (Phase::Posted, leg.debit, leg.credit, amount, earliest)
        }
        TransferKind::Correction { original, amount, reason } => {
            too_large("correction reason bytes", CORRECTION_REASON_BYTES_MAX, reason.len())?;
            if reason.trim().is_empty() {
                return Err(Rejection::Invalid { field: "reason", reason: "must not be empty" });
            }
            let o =
                work.transfer(*original).ok_or(Rejection::TransferNotFound { id: *original })?;
            let correctable = matches!(o.phase, Phase::Posted | Phase::Post { .. })
                && !matches!(o.request.kind, TransferKind::Correction { .. });
            if !correctable {
                return Err(Rejection::NotCorrectable { original: *original });
            }
            let (debit, credit, asset, o_amount, o_effective) = (
                o.credit_account,
                o.debit_account,
                o.amount.asset(),
                o.amount.minor(),
                o.effective_at,
            );
            let remaining = o_amount.saturating_sub(work.corrected(*original));
            let requested = part(id, debit, asset, *amount, remaining)?;
            if requested > remaining || remaining <= 0 {
                return Err(Rejection::CorrectionExceedsOriginal {
                    original: *original,
                    remaining,
                    requested,
                });
            }
            open_account(work, debit)?;
            open_account(work, credit)?;
            let amount = crate::Money::new(requested, asset);
            (Phase::Posted, debit, credit, amount, o_effective)
        }
    };
    not_before(effective_at, earliest)?;

    let transfer = Transfer {
        request: request.clone(),
        phase,
        debit_account,
        credit_account,
        amount,
        effective_at,
        recorded_at: now,
    };
    fold_transfer(work, &transfer).map_err(|e| match e {
        FoldError::Overflow(account) => Rejection::Overflow { account },
        FoldError::Missing => Rejection::AccountNotFound { account: debit_account },
    })?;
    let debit_balance = work.balance(debit_account).unwrap_or_default();
    let credit_balance = work.balance(credit_account).unwrap_or_default();
    check_flags(work, debit_account, &debit_balance, credit_account, &credit_balance)?;
    if let Some(condition) = &request.condition {
        let (account, balance) = if condition.account == debit_account {
            (debit_account, debit_balance)
        } else if condition.account == credit_account {
            (credit_account, credit_balance)
        } else {
            return Err(Rejection::ConditionAccount { id });
        };
        let spec = &work.account(account).ok_or(Rejection::AccountNotFound { account })?.spec;
        if condition.at_least.asset() != spec.asset {
            return Err(Rejection::CurrencyMismatch {
                account,
                expected: spec.asset,
                given: condition.at_least.asset(),
            });
        }
        let available = balance.available(spec.kind);
        let at_least = condition.at_least.minor();
        if available < at_least {
            return Err(Rejection::ConditionFailed { account, available, at_least });
        }
    }
    Ok(Some(Transferred { transfer, debit_balance, credit_balance }))
}

fn check_flags<B: BookState>(
    book: &B,
    debit_id: AccountId,
    debit: &Balance,
    credit_id: AccountId,
    credit: &Balance,
) -> Result<(), Rejection> {
    let flags = |id| book.account(id).map(|a| a.spec.flags).unwrap_or_default();
    let debits = debit.debits_pending.checked_add(debit.debits_posted);
    if flags(debit_id).debits_must_not_exceed_credits
        && debits.is_none_or(|d| d > debit.credits_posted)
    {
        return Err(Rejection::ExceedsCredits { account: debit_id });
    }
    let credits = credit.credits_pending.checked_add(credit.credits_posted);
    if flags(credit_id).credits_must_not_exceed_debits
        && credits.is_none_or(|c| c > credit.debits_posted)
    {
        return Err(Rejection::ExceedsDebits { account: credit_id });
    }
    Ok(())
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
        let expiries = events.len();
        for (index, request) in requests.iter().enumerate() {
            let decided = decide_transfer(&mut work, request, now).map_err(|cause| {
                if linked {
                    Rejection::LinkedFailed { index, id: request.id, cause: Box::new(cause) }
                } else {
                    cause
                }
            })?;
            if let Some(recorded) = decided {
                if linked {
                    work.transfers.push(recorded.transfer.clone());
                }
                events.push(LedgerEvent::Transferred(Box::new(recorded)));
            }
        }
        if events.len() == expiries {
            // Every transfer was a retry: change nothing, so the retry is a pure no-op.
            events.clear();
        }
        Ok(events)
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
            LedgerEvent::Transferred(recorded) => {
                let transfer = &recorded.transfer;
                if self.transfers.get(transfer.id()).is_some() {
                    return;
                }
                // A fold can only fail for a log this code did not write; the event is then
                // ignored rather than half-applied.
                if fold_transfer(self, transfer).is_ok() {
                    if let Phase::Pending { deadline: Some(deadline) } = transfer.phase {
                        self.deadlines.insert((deadline, transfer.id()));
                    }
                    self.transfers.push(transfer.clone());
                }
            }
            LedgerEvent::PendingExpired { pending, .. } => {
                if self.pending.get(pending) == Some(&PendingStatus::Open) {
                    let _ignored_for_foreign_logs = fold_expiry(self, *pending);
                }
            }
        }
    }
}
