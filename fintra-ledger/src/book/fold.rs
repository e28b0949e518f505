//! Folding: one implementation shared by `apply` (the real state) and `decide` (an overlay).

use super::*;

/// Read/write access to the parts of a book a fold touches.
pub(super) trait BookState {
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
pub(super) enum FoldError {
    Overflow(AccountId),
    Missing,
}

pub(super) fn add(a: i128, b: i128, account: AccountId) -> Result<i128, FoldError> {
    a.checked_add(b).ok_or(FoldError::Overflow(account))
}

pub(super) fn sub(a: i128, b: i128, account: AccountId) -> Result<i128, FoldError> {
    a.checked_sub(b).ok_or(FoldError::Overflow(account))
}

/// Moves a transfer's amounts into both balances and records what it did to pending transfers.
/// Nothing changes unless everything fits.
pub(super) fn fold_transfer<B: BookState>(book: &mut B, t: &Transfer) -> Result<(), FoldError> {
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
pub(super) fn fold_expiry<B: BookState>(
    book: &mut B,
    pending: TransferId,
) -> Result<(), FoldError> {
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
/// linked batch see earlier ones, and a rejection discards the overlay. Every change is
/// journalled, so a batch can take back one rejected entry ([`Overlay::rollback`]) and keep the
/// rest.
pub(super) struct Overlay<'a> {
    book: &'a LedgerBook,
    balances: Slots,
    transfers: Vec<Transfer>,
    transfer_index: HashMap<TransferId, usize, IdHash>,
    pending: HashMap<TransferId, PendingStatus, IdHash>,
    corrected: HashMap<TransferId, i128, IdHash>,
    journal: Vec<Undo>,
}

/// One change to the overlay, with what the overlay held before (`None`: nothing, so reads
/// fell through to the book).
enum Undo {
    Balance(AccountId, Option<Balance>),
    Pending(TransferId, Option<PendingStatus>),
    Corrected(TransferId, Option<i128>),
    Transfer,
}

/// A point in an overlay's journal to roll back to.
#[derive(Clone, Copy)]
pub(super) struct Mark(usize);

impl<'a> Overlay<'a> {
    pub(super) fn new(book: &'a LedgerBook) -> Self {
        Self {
            book,
            balances: Slots::default(),
            transfers: Vec::new(),
            transfer_index: HashMap::default(),
            pending: HashMap::default(),
            corrected: HashMap::default(),
            journal: Vec::new(),
        }
    }

    /// Records a decided transfer, so later requests of the same command see it.
    pub(super) fn record(&mut self, transfer: Transfer) {
        self.transfer_index.insert(transfer.id(), self.transfers.len());
        self.transfers.push(transfer);
        self.journal.push(Undo::Transfer);
    }

    pub(super) fn mark(&self) -> Mark {
        Mark(self.journal.len())
    }

    /// Takes back every change made since `mark`.
    pub(super) fn rollback(&mut self, mark: Mark) {
        while self.journal.len() > mark.0 {
            match self.journal.pop() {
                Some(Undo::Balance(id, before)) => self.balances.restore(id, before),
                Some(Undo::Pending(id, before)) => restore(&mut self.pending, id, before),
                Some(Undo::Corrected(id, before)) => restore(&mut self.corrected, id, before),
                Some(Undo::Transfer) => {
                    if let Some(transfer) = self.transfers.pop() {
                        self.transfer_index.remove(&transfer.id());
                    }
                }
                None => break,
            }
        }
    }
}

fn restore<K: std::hash::Hash + Eq, V>(map: &mut HashMap<K, V, IdHash>, key: K, before: Option<V>) {
    match before {
        Some(value) => {
            map.insert(key, value);
        }
        None => {
            map.remove(&key);
        }
    }
}

/// Changed balances: a single transfer touches two accounts, kept inline without allocating;
/// a batch spills into a map.
#[derive(Default)]
pub(super) struct Slots {
    inline: [Option<(AccountId, Balance)>; 2],
    spill: HashMap<AccountId, Balance, IdHash>,
}

impl Slots {
    fn get(&self, id: AccountId) -> Option<Balance> {
        self.inline
            .iter()
            .flatten()
            .find(|(k, _)| *k == id)
            .map(|(_, balance)| *balance)
            .or_else(|| self.spill.get(&id).copied())
    }

    /// Sets `id`'s balance; returns what the overlay held before.
    fn set(&mut self, id: AccountId, balance: Balance) -> Option<Balance> {
        for (k, value) in self.inline.iter_mut().flatten() {
            if *k == id {
                return Some(std::mem::replace(value, balance));
            }
        }
        if let Some(before) = self.spill.get_mut(&id) {
            return Some(std::mem::replace(before, balance));
        }
        match self.inline.iter_mut().find(|slot| slot.is_none()) {
            Some(free) => *free = Some((id, balance)),
            None => {
                self.spill.insert(id, balance);
            }
        }
        None
    }

    fn restore(&mut self, id: AccountId, before: Option<Balance>) {
        match before {
            Some(balance) => {
                self.set(id, balance);
            }
            None => {
                for slot in &mut self.inline {
                    if slot.is_some_and(|(k, _)| k == id) {
                        *slot = None;
                    }
                }
                self.spill.remove(&id);
            }
        }
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
        let before = self.balances.set(id, balance);
        self.journal.push(Undo::Balance(id, before));
    }
    fn transfer(&self, id: TransferId) -> Option<&Transfer> {
        match self.transfer_index.get(&id) {
            Some(&k) => self.transfers.get(k),
            None => self.book.transfer(id),
        }
    }
    fn pending_status(&self, id: TransferId) -> Option<PendingStatus> {
        self.pending.get(&id).copied().or_else(|| self.book.pending_status(id))
    }
    fn set_pending(&mut self, id: TransferId, status: PendingStatus) {
        let before = self.pending.insert(id, status);
        self.journal.push(Undo::Pending(id, before));
    }
    fn corrected(&self, id: TransferId) -> i128 {
        match self.corrected.get(&id) {
            Some(amount) => *amount,
            None => self.book.corrected(id),
        }
    }
    fn set_corrected(&mut self, id: TransferId, amount: i128) {
        let before = self.corrected.insert(id, amount);
        self.journal.push(Undo::Corrected(id, before));
    }
}
