//! [`Ledger`]: a ledger sharded over several books, with spread (hot) accounts and cross-book
//! transfers through a clearing account.

mod batching;

pub use batching::BatchResults;

use std::collections::{BTreeMap, HashSet};
use std::sync::{PoisonError, RwLock};

use futures::lock::Mutex;
use uuid::Uuid;

use super::BOOKS_MAX;
use super::book::{LedgerBook, TrialBalance};
use super::types::{
    AccountFlags, AccountId, AccountKind, Balance, Command, Leg, NewAccount, NewTransfer,
    PendingStatus, Rejection, Transfer, TransferId, TransferKind,
};
use fintra_core::Loaded;
use fintra_core::{Asset, Error, EventMetadata, EventStore, ExecuteError, Repository, StreamId};

/// How a [`Ledger`] is laid out.
#[derive(Clone, Debug)]
pub struct LedgerOptions {
    /// How many books (streams) the accounts are spread over: 1 to [`BOOKS_MAX`]. This is part
    /// of the ledger's identity — every process must use the same number, and it cannot change
    /// once accounts exist (an account's book is `hash(id) mod books`).
    pub books: u16,
    /// Metadata stamped on every event (tenant, actor, correlation).
    pub metadata: EventMetadata,
}

impl Default for LedgerOptions {
    fn default() -> Self {
        Self { books: 1, metadata: EventMetadata::default() }
    }
}

/// Why a ledger call failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum LedgerError {
    /// A ledger rule refused it.
    #[error(transparent)]
    Rejected(#[from] Rejection),
    /// The store failed (after the configured retries for conflicts).
    #[error(transparent)]
    Store(#[from] Error),
}

impl From<ExecuteError<Rejection>> for LedgerError {
    fn from(error: ExecuteError<Rejection>) -> Self {
        match error.into_rejection() {
            Ok(rejection) => Self::Rejected(rejection),
            Err(error) => Self::Store(error),
        }
    }
}

struct Held {
    stream: StreamId,
    loaded: Loaded<LedgerBook>,
}

/// A ledger spread over `books` streams, kept in memory by this process and written with
/// optimistic concurrency (so several processes may share it; each catches up on conflict).
///
/// - An ordinary account lives in one book, chosen by its id.
/// - A **spread** account ([`NewAccount::spread`]) has a sub-account in every book; a transfer
///   between an ordinary account and a spread one runs in the ordinary account's book, so
///   traffic to a hot settlement account is spread over all books instead of serialising on
///   one stream. Its balance is the sum over books; its balance flags are checked per book.
/// - A plain posted transfer between two ordinary accounts in different books runs as a saga
///   through a per-ledger, per-asset clearing account: reserve in the debit book, post in the
///   credit book, then post the reservation (or void it if the credit side is refused). Linked
///   batches and two-phase, balancing and correction transfers must stay in one book
///   ([`Rejection::CrossBook`]). [`Ledger::recover`] finishes sagas a crash interrupted.
pub struct Ledger<S: EventStore> {
    repository: Repository<LedgerBook, S>,
    books: Vec<Mutex<Held>>,
    /// Per book, transfers waiting to be coalesced into its next batch.
    queues: Vec<std::sync::Mutex<Vec<batching::Waiting>>>,
    spread: RwLock<HashSet<AccountId>>,
    metadata: EventMetadata,
}

impl<S: EventStore> std::fmt::Debug for Ledger<S> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Ledger").field("books", &self.books.len()).finish_non_exhaustive()
    }
}

/// Salts that derive a saga's leg ids from the transfer id (xor, so reversible).
const LEG_RESERVE: u128 = 0x5a3c_96e1_0f7b_4d28_b1e4_7c0a_9d36_52f1;
const LEG_CREDIT: u128 = 0xc7e2_184b_a63d_09f5_6e81_d2b7_3a4c_f019;
const LEG_POST: u128 = 0x29b6_f3d0_7e15_c84a_93f2_5b1e_08d7_a64c;
const LEG_VOID: u128 = 0x83d1_5c6a_e940_27bf_1ca8_f675_4b02_de93;

/// Code of the clearing accounts the ledger opens for cross-book transfers.
pub const CLEARING_ACCOUNT_CODE: u16 = u16::MAX;

fn leg_id(id: TransferId, salt: u128) -> TransferId {
    TransferId(Uuid::from_u128(id.0.as_u128() ^ salt))
}

/// A stable 64-bit mix of a UUID (the same in every process, unlike the maps' seeded hash).
fn stable_hash(id: Uuid) -> u64 {
    let (high, low) = id.as_u64_pair();
    // SplitMix64's finaliser over the folded halves: every input bit reaches every output bit.
    let mut z = (low ^ high.rotate_left(29)).wrapping_add(0x9e37_79b9_7f4a_7c15);
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

fn clearing_account(ledger: u32, asset: Asset) -> AccountId {
    let mut code = [0u8; 16];
    let bytes = asset.code().as_bytes();
    let n = bytes.len().min(12);
    code[..n].copy_from_slice(&bytes[..n]);
    code[12..].copy_from_slice(&ledger.to_le_bytes());
    let hi = stable_hash(Uuid::from_bytes(code));
    let lo = stable_hash(Uuid::from_u128(u128::from(hi) ^ 0x636c_6561_7269_6e67));
    AccountId(Uuid::from_u128((u128::from(hi) << 64) | u128::from(lo)))
}

impl<S: EventStore> Ledger<S> {
    /// Loads (or starts) ledger `id` with `options.books` books, from `repository`'s store.
    ///
    /// # Errors
    /// `InvalidInput` for a book count outside 1..=[`BOOKS_MAX`]; store errors while loading.
    pub async fn open(
        repository: Repository<LedgerBook, S>,
        id: Uuid,
        options: LedgerOptions,
    ) -> Result<Self, Error> {
        if options.books == 0 || options.books > BOOKS_MAX {
            return Err(Error::invalid("books", format!("must be 1..={BOOKS_MAX}")));
        }
        let mut books = Vec::with_capacity(usize::from(options.books));
        for k in 0..options.books {
            let stream = StreamId::new(format!(
                "{}-{id}.{k}",
                <LedgerBook as fintra_core::Aggregate>::CATEGORY
            ))?;
            let loaded = repository.load(&stream).await?;
            books.push(Mutex::new(Held { stream, loaded }));
        }
        let ledger = Self {
            repository,
            queues: books.iter().map(|_| std::sync::Mutex::new(Vec::new())).collect(),
            books,
            spread: RwLock::new(HashSet::new()),
            metadata: options.metadata,
        };
        ledger.learn_spread_accounts().await;
        Ok(ledger)
    }

    /// Routes as spread the accounts that exist, spread, in every book (one a crash left
    /// half-opened stays ordinary until it is opened again).
    async fn learn_spread_accounts(&self) {
        let mut everywhere: Option<HashSet<AccountId>> = None;
        for slot in &self.books {
            let held = slot.lock().await;
            let here: HashSet<AccountId> = held
                .loaded
                .state
                .accounts()
                .filter(|(a, _)| a.spec.flags.spread)
                .map(|(a, _)| a.id())
                .collect();
            everywhere = Some(match everywhere {
                None => here,
                Some(seen) => seen.intersection(&here).copied().collect(),
            });
        }
        let mut spread = self.spread.write().unwrap_or_else(PoisonError::into_inner);
        spread.extend(everywhere.unwrap_or_default());
    }

    /// How many books the ledger has.
    pub fn book_count(&self) -> usize {
        self.books.len()
    }

    /// The stream of book `k`.
    pub async fn book_stream(&self, k: usize) -> Option<StreamId> {
        Some(self.books.get(k)?.lock().await.stream.clone())
    }

    /// The book an ordinary account lives in.
    pub fn home_book(&self, account: AccountId) -> usize {
        self.book_for(account.0)
    }

    fn book_for(&self, id: Uuid) -> usize {
        let books = u64::try_from(self.books.len()).unwrap_or(1).max(1);
        usize::try_from(stable_hash(id) % books).unwrap_or(0)
    }

    fn is_spread(&self, account: AccountId) -> bool {
        self.spread.read().unwrap_or_else(PoisonError::into_inner).contains(&account)
    }

    async fn run(&self, book: usize, command: &Command) -> Result<(), LedgerError> {
        let Some(slot) = self.books.get(book) else {
            return Err(Error::invalid("book", "no such book").into());
        };
        let mut held = slot.lock().await;
        let Held { stream, loaded } = &mut *held;
        self.repository.execute_in_place(stream, loaded, command, &self.metadata).await?;
        Ok(())
    }

    async fn read<T>(&self, book: usize, f: impl FnOnce(&LedgerBook) -> T) -> Option<T> {
        let held = self.books.get(book)?.lock().await;
        Some(f(&held.loaded.state))
    }

    /// Opens accounts: an ordinary one in its home book, a spread one in every book. Each book's
    /// share is atomic; opening an identical account again is a no-op, so a failed call can be
    /// retried whole.
    ///
    /// # Errors
    /// The first rejection or store error.
    pub async fn open_accounts(&self, accounts: Vec<NewAccount>) -> Result<(), LedgerError> {
        let mut per_book: BTreeMap<usize, Vec<NewAccount>> = BTreeMap::new();
        for account in accounts {
            if account.flags.spread {
                for k in 0..self.books.len() {
                    per_book.entry(k).or_default().push(account.clone());
                }
            } else {
                per_book.entry(self.home_book(account.id)).or_default().push(account);
            }
        }
        let mut spread = Vec::new();
        for (book, accounts) in per_book {
            spread.extend(accounts.iter().filter(|a| a.flags.spread).map(|a| a.id));
            self.run(book, &Command::OpenAccounts(accounts)).await?;
        }
        // Routed as spread only once the account exists in every book.
        self.spread.write().unwrap_or_else(PoisonError::into_inner).extend(spread);
        Ok(())
    }

    /// Closes an account (in every book for a spread one).
    ///
    /// # Errors
    /// As [`Command::CloseAccount`].
    pub async fn close_account(&self, account: AccountId) -> Result<(), LedgerError> {
        if self.is_spread(account) {
            for k in 0..self.books.len() {
                self.run(k, &Command::CloseAccount(account)).await?;
            }
            Ok(())
        } else {
            self.run(self.home_book(account), &Command::CloseAccount(account)).await
        }
    }

    /// The book holding transfer `id`, if any.
    async fn book_of_transfer(&self, id: TransferId) -> Option<usize> {
        for k in 0..self.books.len() {
            if self.read(k, |b| b.transfer(id).is_some()).await == Some(true) {
                return Some(k);
            }
        }
        None
    }

    /// Where a transfer between `debit` and `credit` runs: `Ok(book)` or `Err((from, to))`
    /// for two ordinary accounts in different books.
    fn route(
        &self,
        id: TransferId,
        debit: AccountId,
        credit: AccountId,
    ) -> Result<usize, (usize, usize)> {
        match (self.is_spread(debit), self.is_spread(credit)) {
            (true, true) => Ok(self.book_for(id.0)),
            (true, false) => Ok(self.home_book(credit)),
            (false, true) => Ok(self.home_book(debit)),
            (false, false) => {
                let (from, to) = (self.home_book(debit), self.home_book(credit));
                if from == to { Ok(from) } else { Err((from, to)) }
            }
        }
    }

    async fn book_of_request(&self, request: &NewTransfer) -> Result<usize, Rejection> {
        let leg = match &request.kind {
            TransferKind::Posted { leg }
            | TransferKind::Pending { leg, .. }
            | TransferKind::Balancing { leg, .. } => leg,
            TransferKind::PostPending { pending: referenced, .. }
            | TransferKind::VoidPending { pending: referenced }
            | TransferKind::Correction { original: referenced, .. } => {
                return self
                    .book_of_transfer(*referenced)
                    .await
                    .ok_or(Rejection::TransferNotFound { id: *referenced });
            }
        };
        self.route(request.id, leg.debit, leg.credit)
            .map_err(|_| Rejection::CrossBook { id: request.id })
    }

    async fn recorded(&self, book: usize, id: TransferId) -> Result<Transfer, LedgerError> {
        self.read(book, |b| b.transfer(id).cloned()).await.flatten().ok_or_else(|| {
            Error::corrupted(format!("transfer {id} accepted but not recorded")).into()
        })
    }

    /// Submits one transfer and returns what was recorded: one transfer, or for a cross-book
    /// transfer the saga's legs (reserve, credit, post). A retry with the same id returns the
    /// original records.
    ///
    /// Concurrent calls for the same book are coalesced: whoever runs the book's next append
    /// takes every transfer queued meanwhile and writes them as one batch
    /// ([`Ledger::submit`]'s path), each caller still getting its own answer. A lone call is
    /// written on its own, as before.
    ///
    /// # Errors
    /// The book's [`Rejection`], [`Rejection::CrossBook`], or a store error (a cross-book saga
    /// interrupted by one is finished by retrying the same request or by [`Ledger::recover`]).
    pub async fn transfer(&self, request: NewTransfer) -> Result<Vec<Transfer>, LedgerError> {
        if let TransferKind::Posted { leg } = &request.kind
            && let Err((from, to)) = self.route(request.id, leg.debit, leg.credit)
        {
            return self.cross_book(&request, *leg, from, to).await;
        }
        let book = self.book_of_request(&request).await?;
        self.coalesced(book, request).await
    }

    /// [`Ledger::transfer`] without the queue: its own command and append.
    async fn transfer_alone(&self, request: NewTransfer) -> Result<Vec<Transfer>, LedgerError> {
        if let TransferKind::Posted { leg } = &request.kind
            && let Err((from, to)) = self.route(request.id, leg.debit, leg.credit)
        {
            return self.cross_book(&request, *leg, from, to).await;
        }
        let book = self.book_of_request(&request).await?;
        let id = request.id;
        self.run(book, &Command::Transfer(request)).await?;
        Ok(vec![self.recorded(book, id).await?])
    }

    /// Submits a linked batch: all or nothing, in one book.
    ///
    /// # Errors
    /// [`Rejection::LinkedFailed`] naming the member, [`Rejection::CrossBook`] if the members do
    /// not share a book, or a store error.
    pub async fn linked(&self, requests: Vec<NewTransfer>) -> Result<Vec<Transfer>, LedgerError> {
        let mut book = None;
        for request in &requests {
            let k = self.book_of_request(request).await?;
            if *book.get_or_insert(k) != k {
                return Err(Rejection::CrossBook { id: request.id }.into());
            }
        }
        let Some(book) = book else { return Err(Rejection::EmptyBatch.into()) };
        let ids: Vec<TransferId> = requests.iter().map(|r| r.id).collect();
        self.run(book, &Command::Linked(requests)).await?;
        let mut out = Vec::with_capacity(ids.len());
        for id in ids {
            out.push(self.recorded(book, id).await?);
        }
        Ok(out)
    }

    async fn ensure_clearing(&self, ledger: u32, asset: Asset) -> Result<AccountId, LedgerError> {
        let id = clearing_account(ledger, asset);
        if !self.is_spread(id) {
            let account = NewAccount {
                ledger,
                flags: AccountFlags { spread: true, ..AccountFlags::default() },
                code: CLEARING_ACCOUNT_CODE,
                opened_at: Some(chrono::DateTime::UNIX_EPOCH),
                ..NewAccount::new(id, asset, AccountKind::Asset)
            }
            .with_metadata("fintra.role", "clearing");
            self.open_accounts(vec![account]).await?;
        }
        Ok(id)
    }

    async fn cross_book(
        &self,
        request: &NewTransfer,
        leg: Leg,
        from: usize,
        to: usize,
    ) -> Result<Vec<Transfer>, LedgerError> {
        let ledger = self
            .read(from, |b| b.account(leg.debit).map(|a| a.spec.ledger))
            .await
            .flatten()
            .ok_or(Rejection::AccountNotFound { account: leg.debit })?;
        let clearing = self.ensure_clearing(ledger, leg.amount.asset()).await?;
        let leg_request = |id, kind, names: AccountId| NewTransfer {
            id,
            kind,
            code: request.code,
            reference: request.reference.clone(),
            effective_at: request.effective_at,
            condition: request.condition.filter(|c| c.account == names),
        };
        let reserve_id = leg_id(request.id, LEG_RESERVE);
        let reserve = leg_request(
            reserve_id,
            TransferKind::Pending {
                leg: Leg { debit: leg.debit, credit: clearing, amount: leg.amount },
                timeout_secs: None,
            },
            leg.debit,
        );
        self.run(from, &Command::Transfer(reserve)).await?;
        match self.read(from, |b| b.pending_status(reserve_id)).await.flatten() {
            Some(PendingStatus::Open | PendingStatus::Posted { .. }) => {}
            status => {
                let status = status.unwrap_or(PendingStatus::Voided);
                return Err(Rejection::PendingNotOpen { pending: reserve_id, status }.into());
            }
        }
        let credit_id = leg_id(request.id, LEG_CREDIT);
        let credit = leg_request(
            credit_id,
            TransferKind::Posted {
                leg: Leg { debit: clearing, credit: leg.credit, amount: leg.amount },
            },
            leg.credit,
        );
        if let Err(error) = self.run(to, &Command::Transfer(credit)).await {
            if let LedgerError::Rejected(_) = error {
                let void = NewTransfer::void(leg_id(request.id, LEG_VOID), reserve_id);
                self.run(from, &Command::Transfer(void)).await?;
            }
            return Err(error);
        }
        let post_id = leg_id(request.id, LEG_POST);
        self.run(from, &Command::Transfer(NewTransfer::post(post_id, reserve_id, None))).await?;
        Ok(vec![
            self.recorded(from, reserve_id).await?,
            self.recorded(to, credit_id).await?,
            self.recorded(from, post_id).await?,
        ])
    }

    /// Finishes cross-book sagas a crash interrupted: a reservation whose credit leg was
    /// recorded is posted, any other is voided. Call it at start-up, before serving transfers,
    /// and from one process at a time. Returns how many sagas it finished.
    ///
    /// # Errors
    /// Store errors.
    pub async fn recover(&self) -> Result<usize, LedgerError> {
        let mut open = Vec::new();
        for k in 0..self.books.len() {
            let found = self
                .read(k, |b| {
                    b.accounts()
                        .filter(|(a, _)| {
                            a.spec.code == CLEARING_ACCOUNT_CODE && a.spec.flags.spread
                        })
                        .map(|(a, _)| a.id())
                        .collect::<HashSet<_>>()
                })
                .await
                .unwrap_or_default();
            let pending = self
                .read(k, |b| {
                    b.open_pending()
                        .filter(|t| found.contains(&t.credit_account))
                        .map(|t| t.id())
                        .collect::<Vec<_>>()
                })
                .await
                .unwrap_or_default();
            open.extend(pending.into_iter().map(|id| (k, id)));
        }
        for (book, reserve_id) in &open {
            let original = leg_id(*reserve_id, LEG_RESERVE);
            let credited = self.book_of_transfer(leg_id(original, LEG_CREDIT)).await.is_some();
            let finish = if credited {
                NewTransfer::post(leg_id(original, LEG_POST), *reserve_id, None)
            } else {
                NewTransfer::void(leg_id(original, LEG_VOID), *reserve_id)
            };
            self.run(*book, &Command::Transfer(finish)).await?;
        }
        Ok(open.len())
    }

    /// An account's balance: the sum over books for a spread account.
    pub async fn balance(&self, account: AccountId) -> Option<Balance> {
        if !self.is_spread(account) {
            return self.read(self.home_book(account), |b| b.balance(account)).await.flatten();
        }
        let mut total: Option<Balance> = None;
        for k in 0..self.books.len() {
            if let Some(balance) = self.read(k, |b| b.balance(account)).await.flatten() {
                total = Some(match total {
                    None => balance,
                    Some(sum) => sum.checked_sum(balance)?,
                });
            }
        }
        total
    }

    /// A recorded transfer, from whichever book holds it.
    pub async fn transfer_record(&self, id: TransferId) -> Option<Transfer> {
        let book = self.book_of_transfer(id).await?;
        self.read(book, |b| b.transfer(id).cloned()).await.flatten()
    }

    /// Records lapsed reservations in every book.
    ///
    /// # Errors
    /// Store errors.
    pub async fn expire(&self) -> Result<(), LedgerError> {
        for k in 0..self.books.len() {
            self.run(k, &Command::ExpirePending).await?;
        }
        Ok(())
    }

    /// Folds in what other processes appended to every book, including spread accounts they
    /// opened (until then this process routes those as ordinary accounts: still correct, through
    /// a cross-book saga, only slower).
    ///
    /// # Errors
    /// Store errors.
    pub async fn refresh(&self) -> Result<(), LedgerError> {
        for slot in &self.books {
            let mut held = slot.lock().await;
            let Held { stream, loaded } = &mut *held;
            self.repository.catch_up(stream, loaded).await?;
        }
        self.learn_spread_accounts().await;
        Ok(())
    }

    /// The trial balance over all books.
    pub async fn trial_balance(&self) -> BTreeMap<(u32, Asset), TrialBalance> {
        let mut totals: BTreeMap<(u32, Asset), TrialBalance> = BTreeMap::new();
        for k in 0..self.books.len() {
            let book = self.read(k, LedgerBook::trial_balance).await.unwrap_or_default();
            for (key, part) in book {
                totals.entry(key).or_default().merge(&part);
            }
        }
        totals
    }

    /// The repository the books are written through (for time travel on a book's stream).
    pub fn repository(&self) -> &Repository<LedgerBook, S> {
        &self.repository
    }

    /// Every book's current state, cloned (for reports and tests).
    pub async fn books_snapshot(&self) -> Vec<LedgerBook> {
        let mut out = Vec::with_capacity(self.books.len());
        for slot in &self.books {
            out.push(slot.lock().await.loaded.state.clone());
        }
        out
    }
}
