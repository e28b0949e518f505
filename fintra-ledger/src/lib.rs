//! A double-entry ledger as fintra aggregates: accounts with balance rules, idempotent
//! transfers, linked batches, two-phase (pending → post / void / lapse), balance-conditional and
//! balancing transfers, compensating corrections, and balances on both timelines.
//!
//! The model follows TigerBeetle's: every account keeps four totals (debits and credits, pending
//! and posted, in integer minor units); every transfer debits one account and credits another by
//! the same amount, so per ledger and asset debits always equal credits. It runs on the kernel
//! contract, so on every store.
//!
//! - [`LedgerBook`] is the aggregate: one stream (`ledger-<id>`) holding accounts and the
//!   transfers between them. Every transfer inside a book is atomic and checked against current
//!   balances.
//! - [`Ledger`] spreads accounts over several books so that one hot account (a settlement
//!   account) does not serialise every transfer; see `docs/ledger.md`.
//!
//! ```
//! use fintra_ledger::{AccountId, AccountKind, Command, LedgerBook, NewAccount, NewTransfer, TransferId};
//! use fintra_core::{Asset, InMemoryEventStore, Money, Repository, EventMetadata};
//! # futures::executor::block_on(async {
//! let books = Repository::<LedgerBook, _>::new(InMemoryEventStore::new());
//! let stream = books.stream_id(uuid::Uuid::from_u128(1))?;
//! let (wallet, cash) = (AccountId::from_u128(1), AccountId::from_u128(2));
//! let meta = EventMetadata::default();
//! let open = Command::OpenAccounts(vec![
//!     NewAccount::new(wallet, Asset::EUR, AccountKind::Liability).no_overdraft(),
//!     NewAccount::new(cash, Asset::EUR, AccountKind::Asset),
//! ]);
//! books.execute(&stream, &open, &meta).await?;
//! let top_up = NewTransfer::posted(TransferId::from_u128(1), cash, wallet, Money::new(50_00, Asset::EUR));
//! let done = books.execute(&stream, &Command::Transfer(top_up), &meta).await?;
//! assert_eq!(done.state.balance(wallet).unwrap().available(AccountKind::Liability), 50_00);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! # }).unwrap();
//! ```

mod book;
mod hash;
mod rejection;
mod service;
#[cfg(test)]
mod tests;
mod types;

pub use book::{BatchDecision, LedgerBook, TrialBalance};
pub use service::{BatchResults, CLEARING_ACCOUNT_CODE, Ledger, LedgerError, LedgerOptions};
pub use types::{
    Account, AccountFlags, AccountId, AccountKind, Balance, BalanceCondition, BalancingSide,
    BatchEntry, Command, LedgerEvent, Leg, NewAccount, NewTransfer, PendingStatus, Phase,
    Rejection, Transfer, TransferId, TransferKind, Transferred,
};

/// Most transfers in one linked batch.
pub const LINKED_TRANSFERS_MAX: usize = 500;
/// Most transfers in one batch ([`Ledger::submit`], [`LedgerBook::decide_batch`]), counting
/// every member of its linked chains: TigerBeetle's request size.
pub const BATCH_TRANSFERS_MAX: usize = 8_190;
/// Most transfers one [`LedgerEvent::TransferredBatch`] holds (its payload stays well under
/// the kernel's per-event limit even with maximal references).
pub const TRANSFERS_PER_EVENT_MAX: usize = 400;
/// Most accounts opened by one command.
pub const OPEN_ACCOUNTS_MAX: usize = 500;
/// Most lapsed reservations one command records; later ones are recorded by later commands
/// (and count as lapsed for posts and voids meanwhile).
pub const EXPIRE_PER_COMMAND_MAX: usize = 250;
/// Longest transfer reference, in bytes.
pub const REFERENCE_BYTES_MAX: usize = 256;
/// Longest correction reason, in bytes.
pub const CORRECTION_REASON_BYTES_MAX: usize = 1024;
/// Most books a sharded [`Ledger`] may have.
pub const BOOKS_MAX: u16 = 1024;

// One command's events must fit one append.
const _: () =
    assert!(LINKED_TRANSFERS_MAX + EXPIRE_PER_COMMAND_MAX < fintra_core::limits::APPEND_EVENTS_MAX);
const _: () = assert!(OPEN_ACCOUNTS_MAX <= fintra_core::limits::APPEND_EVENTS_MAX);
// A full batch: one event per TRANSFERS_PER_EVENT_MAX transfers, plus a split wherever the
// effective instant changes (at most once per transfer, so the bound below counts the worst
// case of alternating instants only up to the events limit, which `decide_batch` checks).
const _: () = assert!(
    BATCH_TRANSFERS_MAX.div_ceil(TRANSFERS_PER_EVENT_MAX) + EXPIRE_PER_COMMAND_MAX
        < fintra_core::limits::APPEND_EVENTS_MAX
);

#[cfg(doctest)]
#[doc = include_str!("../../docs/ledger.md")]
struct LedgerGuide;
