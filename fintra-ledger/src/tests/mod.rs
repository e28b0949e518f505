//! Given/when/then for every ledger rule and rejection.

#![allow(clippy::inconsistent_digit_grouping, reason = "amounts read as units_cents")]

use chrono::{DateTime, Duration, TimeZone, Utc};

use super::*;
use fintra_core::testing::AggregateSpec;
use fintra_core::{Aggregate, Asset, DecideContext, DomainEvent, Money, SequentialIdGenerator};

mod batches;

const WALLET: AccountId = AccountId::from_u128(1);
const CASH: AccountId = AccountId::from_u128(2);
const FEES: AccountId = AccountId::from_u128(3);
const CREDIT_LINE: AccountId = AccountId::from_u128(4);
const DOLLARS: AccountId = AccountId::from_u128(5);
const OTHER_LEDGER: AccountId = AccountId::from_u128(6);

fn t(n: u128) -> TransferId {
    TransferId::from_u128(n)
}

fn eur(minor: i128) -> Money {
    Money::new(minor, Asset::EUR)
}

fn start() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2024, 1, 1, 0, 0, 0).unwrap()
}

/// Runs commands through decide + apply at a movable time, like a repository would.
struct Harness {
    book: LedgerBook,
    now: DateTime<Utc>,
    history: Vec<LedgerEvent>,
}

impl Harness {
    fn new() -> Self {
        let mut h = Self { book: LedgerBook::default(), now: start(), history: Vec::new() };
        h.ok(Command::OpenAccounts(vec![
            NewAccount::new(WALLET, Asset::EUR, AccountKind::Liability).no_overdraft(),
            NewAccount::new(CASH, Asset::EUR, AccountKind::Asset),
            NewAccount::new(FEES, Asset::EUR, AccountKind::Income),
            NewAccount::new(CREDIT_LINE, Asset::EUR, AccountKind::Asset).flags(AccountFlags {
                credits_must_not_exceed_debits: true,
                ..AccountFlags::default()
            }),
            NewAccount::new(DOLLARS, Asset::USD, AccountKind::Liability),
            NewAccount::new(OTHER_LEDGER, Asset::EUR, AccountKind::Liability).ledger(2),
        ]));
        h
    }

    fn run(&mut self, command: Command) -> Result<Vec<LedgerEvent>, Rejection> {
        let ids = SequentialIdGenerator::default();
        let events = self.book.decide(&command, &DecideContext::new(self.now, &ids))?;
        events.iter().for_each(|e| self.book.apply(e));
        self.history.extend(events.iter().cloned());
        Ok(events)
    }

    fn ok(&mut self, command: Command) -> Vec<LedgerEvent> {
        self.run(command).unwrap()
    }

    fn transfer(&mut self, request: NewTransfer) -> Result<Vec<LedgerEvent>, Rejection> {
        self.run(Command::Transfer(request))
    }

    fn fund_wallet(&mut self, id: u128, minor: i128) {
        self.transfer(NewTransfer::posted(t(id), CASH, WALLET, eur(minor))).unwrap();
    }

    fn balance(&self, account: AccountId) -> Balance {
        self.book.balance(account).unwrap()
    }

    /// Asserts that `command` is rejected with `expected` through the given/when/then harness.
    fn rejects(&self, command: Command, expected: Rejection) {
        AggregateSpec::<LedgerBook>::given(self.history.clone())
            .at(self.now)
            .when(command)
            .then_error(expected);
    }

    fn rejects_transfer(&self, request: NewTransfer, expected: Rejection) {
        self.rejects(Command::Transfer(request), expected);
    }
}

fn transferred(events: &[LedgerEvent]) -> Vec<&Transferred> {
    events
        .iter()
        .filter_map(|e| match e {
            LedgerEvent::Transferred(t) => Some(&**t),
            _ => None,
        })
        .collect()
}

#[test]
fn a_posted_transfer_moves_money_and_records_running_balances() {
    let mut h = Harness::new();
    let events = h.transfer(NewTransfer::posted(t(1), CASH, WALLET, eur(100_00))).unwrap();
    let [recorded] = transferred(&events)[..] else { panic!("one transfer expected") };
    let transfer = &recorded.transfer;
    assert_eq!(transfer.amount, eur(100_00));
    assert_eq!(transfer.phase, Phase::Posted);
    assert_eq!(recorded.credit_balance.credits_posted, 100_00);
    assert_eq!(recorded.debit_balance.debits_posted, 100_00);
    assert_eq!(h.balance(WALLET).available(AccountKind::Liability), 100_00);
    assert_eq!(h.balance(CASH).posted(AccountKind::Asset), 100_00);
    let events = h.transfer(NewTransfer::posted(t(2), CASH, WALLET, eur(5_00))).unwrap();
    let [second] = transferred(&events)[..] else { panic!("one transfer expected") };
    assert_eq!(second.credit_balance.credits_posted, 105_00, "running balance after each posting");
    assert!(h.book.trial_balance().values().all(TrialBalance::is_balanced));
}

#[test]
fn a_retried_transfer_is_a_no_op_and_returns_the_original() {
    let mut h = Harness::new();
    h.fund_wallet(1, 10_00);
    let again = h.transfer(NewTransfer::posted(t(1), CASH, WALLET, eur(10_00))).unwrap();
    assert!(again.is_empty());
    assert_eq!(h.balance(WALLET).credits_posted, 10_00);
    assert_eq!(h.book.transfer(t(1)).unwrap().amount, eur(10_00));
}

#[test]
fn the_same_id_with_other_fields_is_an_idempotency_conflict() {
    let mut h = Harness::new();
    h.fund_wallet(1, 10_00);
    h.rejects_transfer(
        NewTransfer::posted(t(1), CASH, WALLET, eur(11_00)),
        Rejection::IdempotencyConflict { id: t(1) },
    );
}

#[test]
fn amounts_must_be_positive() {
    let h = Harness::new();
    for minor in [0, -1, i128::MIN] {
        h.rejects_transfer(
            NewTransfer::posted(t(1), CASH, WALLET, eur(minor)),
            Rejection::AmountNotPositive { id: t(1) },
        );
    }
}

#[test]
fn debit_and_credit_must_differ() {
    Harness::new().rejects_transfer(
        NewTransfer::posted(t(1), CASH, CASH, eur(1)),
        Rejection::SameAccount { id: t(1) },
    );
}

#[test]
fn unknown_accounts_are_refused() {
    let ghost = AccountId::from_u128(99);
    Harness::new().rejects_transfer(
        NewTransfer::posted(t(1), CASH, ghost, eur(1)),
        Rejection::AccountNotFound { account: ghost },
    );
}

#[test]
fn closed_accounts_are_refused_and_closing_twice_is_a_no_op() {
    let mut h = Harness::new();
    let closed = h.ok(Command::CloseAccount(FEES));
    assert!(matches!(closed[..], [LedgerEvent::AccountClosed { account: FEES, .. }]));
    assert!(h.ok(Command::CloseAccount(FEES)).is_empty());
    h.rejects_transfer(
        NewTransfer::posted(t(1), CASH, FEES, eur(1)),
        Rejection::AccountClosed { account: FEES },
    );
}

#[test]
fn an_account_with_open_reservations_cannot_close() {
    let mut h = Harness::new();
    h.fund_wallet(1, 10_00);
    h.transfer(NewTransfer::pending(t(2), WALLET, CASH, eur(5_00), None)).unwrap();
    h.rejects(Command::CloseAccount(WALLET), Rejection::AccountHasPending { account: WALLET });
}

#[test]
fn the_currency_must_match_both_accounts() {
    Harness::new().rejects_transfer(
        NewTransfer::posted(t(1), CASH, DOLLARS, eur(1)),
        Rejection::CurrencyMismatch { account: DOLLARS, expected: Asset::USD, given: Asset::EUR },
    );
}

#[test]
fn both_accounts_must_share_a_ledger() {
    Harness::new().rejects_transfer(
        NewTransfer::posted(t(1), CASH, OTHER_LEDGER, eur(1)),
        Rejection::LedgerMismatch { debit: 1, credit: 2 },
    );
}

/// Regression test: `no_overdraft()` on an asset account refused its first deposit.
///
/// Symptom: documented as "a wallet that cannot go below zero", the flag it set
/// (`debits_must_not_exceed_credits`) made an asset account — which grows with debits — refuse
/// any deposit.
/// Cause: the flag ignored the account's normal side.
/// Fix: `no_overdraft()` bounds the account's balance on its normal side, whatever its kind.
#[test]
fn no_overdraft_keeps_an_asset_account_at_or_above_zero_too() {
    let mut h = Harness::new();
    let till = AccountId::from_u128(70);
    h.ok(Command::OpenAccounts(vec![
        NewAccount::new(till, Asset::EUR, AccountKind::Asset).no_overdraft(),
    ]));
    h.transfer(NewTransfer::posted(t(1), till, FEES, eur(25_00))).unwrap();
    assert_eq!(h.balance(till).posted(AccountKind::Asset), 25_00, "the first deposit goes in");
    h.rejects_transfer(
        NewTransfer::posted(t(2), CASH, till, eur(25_01)),
        Rejection::ExceedsDebits { account: till, credits: eur(25_01), debits: eur(25_00) },
    );
    h.transfer(NewTransfer::posted(t(3), CASH, till, eur(25_00))).unwrap();
    assert_eq!(h.balance(till).posted(AccountKind::Asset), 0);
}

#[test]
fn a_no_overdraft_account_cannot_spend_what_it_does_not_have() {
    let mut h = Harness::new();
    h.fund_wallet(1, 10_00);
    h.rejects_transfer(
        NewTransfer::posted(t(2), WALLET, CASH, eur(10_01)),
        Rejection::ExceedsCredits { account: WALLET, debits: eur(10_01), credits: eur(10_00) },
    );
    // Pending reservations count against the bound too.
    h.transfer(NewTransfer::pending(t(3), WALLET, CASH, eur(6_00), None)).unwrap();
    h.rejects_transfer(
        NewTransfer::posted(t(4), WALLET, CASH, eur(4_01)),
        Rejection::ExceedsCredits { account: WALLET, debits: eur(10_01), credits: eur(10_00) },
    );
    h.transfer(NewTransfer::posted(t(5), WALLET, CASH, eur(4_00))).unwrap();
}

#[test]
fn a_credit_line_cannot_be_credited_beyond_its_debits() {
    let mut h = Harness::new();
    h.transfer(NewTransfer::posted(t(1), CREDIT_LINE, WALLET, eur(50_00))).unwrap();
    h.rejects_transfer(
        NewTransfer::posted(t(2), CASH, CREDIT_LINE, eur(50_01)),
        Rejection::ExceedsDebits { account: CREDIT_LINE, credits: eur(50_01), debits: eur(50_00) },
    );
    h.transfer(NewTransfer::posted(t(3), CASH, CREDIT_LINE, eur(50_00))).unwrap();
}

#[test]
fn totals_that_would_overflow_are_refused() {
    let mut h = Harness::new();
    h.transfer(NewTransfer::posted(t(1), CASH, FEES, eur(i128::MAX))).unwrap();
    h.rejects_transfer(
        NewTransfer::posted(t(2), CASH, FEES, eur(1)),
        Rejection::Overflow { account: CASH },
    );
}

#[test]
fn pending_then_partial_post_releases_the_rest() {
    let mut h = Harness::new();
    h.fund_wallet(1, 100_00);
    h.transfer(NewTransfer::pending(t(2), WALLET, CASH, eur(40_00), Some(3600))).unwrap();
    let held = h.balance(WALLET);
    assert_eq!((held.debits_pending, held.available(AccountKind::Liability)), (40_00, 60_00));
    h.transfer(NewTransfer::post(t(3), t(2), Some(eur(25_00)))).unwrap();
    let after = h.balance(WALLET);
    assert_eq!((after.debits_pending, after.debits_posted), (0, 25_00));
    assert_eq!(h.book.pending_status(t(2)), Some(PendingStatus::Posted { amount: 25_00 }));
    assert_eq!(h.book.lapsed(h.now + Duration::days(1)).count(), 0, "deadline cleared");
}

#[test]
fn a_void_releases_the_reservation() {
    let mut h = Harness::new();
    h.fund_wallet(1, 100_00);
    h.transfer(NewTransfer::pending(t(2), WALLET, CASH, eur(40_00), None)).unwrap();
    h.transfer(NewTransfer::void(t(3), t(2))).unwrap();
    assert_eq!(h.balance(WALLET).available(AccountKind::Liability), 100_00);
    assert_eq!(h.book.pending_status(t(2)), Some(PendingStatus::Voided));
}

#[test]
fn post_and_void_need_an_open_pending_transfer() {
    let mut h = Harness::new();
    h.fund_wallet(1, 100_00);
    h.rejects_transfer(NewTransfer::void(t(9), t(77)), Rejection::TransferNotFound { id: t(77) });
    h.rejects_transfer(NewTransfer::post(t(9), t(1), None), Rejection::NotPending { id: t(1) });
    h.transfer(NewTransfer::pending(t(2), WALLET, CASH, eur(10_00), None)).unwrap();
    h.transfer(NewTransfer::post(t(3), t(2), None)).unwrap();
    h.rejects_transfer(
        NewTransfer::void(t(4), t(2)),
        Rejection::PendingNotOpen {
            pending: t(2),
            status: PendingStatus::Posted { amount: 10_00 },
        },
    );
}

#[test]
fn a_post_cannot_exceed_the_reservation() {
    let mut h = Harness::new();
    h.fund_wallet(1, 100_00);
    h.transfer(NewTransfer::pending(t(2), WALLET, CASH, eur(10_00), None)).unwrap();
    h.rejects_transfer(
        NewTransfer::post(t(3), t(2), Some(eur(10_01))),
        Rejection::PostExceedsPending {
            pending: t(2),
            reserved: eur(10_00),
            requested: eur(10_01),
        },
    );
}

#[test]
fn a_reservation_lapses_at_its_deadline() {
    let mut h = Harness::new();
    h.fund_wallet(1, 100_00);
    h.transfer(NewTransfer::pending(t(2), WALLET, CASH, eur(30_00), Some(60))).unwrap();
    h.now += Duration::seconds(59);
    assert!(h.ok(Command::ExpirePending).is_empty());
    h.now += Duration::seconds(1);
    h.rejects_transfer(
        NewTransfer::post(t(3), t(2), None),
        Rejection::PendingNotOpen { pending: t(2), status: PendingStatus::Expired },
    );
    // The next transfer records the lapse first, at the deadline, then itself.
    let events = h.transfer(NewTransfer::posted(t(4), WALLET, CASH, eur(100_00))).unwrap();
    let deadline = start() + Duration::seconds(60);
    assert_eq!(events[0], LedgerEvent::PendingExpired { pending: t(2), at: deadline });
    assert_eq!(events[0].occurred_at(), Some(deadline));
    assert_eq!(h.book.pending_status(t(2)), Some(PendingStatus::Expired));
    assert_eq!(h.balance(WALLET).debits_pending, 0);
}

#[test]
fn explicit_expiry_records_lapses() {
    let mut h = Harness::new();
    h.fund_wallet(1, 100_00);
    h.transfer(NewTransfer::pending(t(2), WALLET, CASH, eur(30_00), Some(1))).unwrap();
    h.now += Duration::seconds(5);
    let events = h.ok(Command::ExpirePending);
    assert_eq!(events.len(), 1);
    assert_eq!(h.balance(WALLET).available(AccountKind::Liability), 100_00);
}

#[test]
fn a_zero_timeout_is_invalid() {
    let mut h = Harness::new();
    h.fund_wallet(1, 100_00);
    h.rejects_transfer(
        NewTransfer::pending(t(2), WALLET, CASH, eur(1), Some(0)),
        Rejection::Invalid {
            field: "timeout_secs",
            reason: "must be at least 1 second (use None for no timeout)",
        },
    );
}

#[test]
fn a_balance_condition_guards_the_write() {
    let mut h = Harness::new();
    h.fund_wallet(1, 100_00);
    h.rejects_transfer(
        NewTransfer::posted(t(2), WALLET, CASH, eur(30_00)).only_if(WALLET, eur(80_00)),
        Rejection::ConditionFailed { account: WALLET, available: eur(70_00), at_least: eur(80_00) },
    );
    h.transfer(NewTransfer::posted(t(3), WALLET, CASH, eur(20_00)).only_if(WALLET, eur(80_00)))
        .unwrap();
    h.rejects_transfer(
        NewTransfer::posted(t(4), WALLET, CASH, eur(1)).only_if(FEES, eur(0)),
        Rejection::ConditionAccount { id: t(4) },
    );
}

#[test]
fn a_balancing_transfer_moves_at_most_what_is_available() {
    let mut h = Harness::new();
    h.fund_wallet(1, 30_00);
    let sweep = NewTransfer::new(
        t(2),
        TransferKind::Balancing {
            leg: Leg { debit: WALLET, credit: CASH, amount: eur(50_00) },
            side: BalancingSide::Debit,
        },
    );
    h.transfer(sweep).unwrap();
    assert_eq!(h.book.transfer(t(2)).unwrap().amount, eur(30_00));
    assert_eq!(h.balance(WALLET).available(AccountKind::Liability), 0);
    let again = NewTransfer::new(
        t(3),
        TransferKind::Balancing {
            leg: Leg { debit: WALLET, credit: CASH, amount: eur(50_00) },
            side: BalancingSide::Debit,
        },
    );
    h.rejects_transfer(again, Rejection::NothingAvailable { id: t(3) });
}

#[test]
fn a_balancing_credit_repays_at_most_the_debt() {
    let mut h = Harness::new();
    h.transfer(NewTransfer::posted(t(1), CREDIT_LINE, WALLET, eur(20_00))).unwrap();
    let repay = NewTransfer::new(
        t(2),
        TransferKind::Balancing {
            leg: Leg { debit: CASH, credit: CREDIT_LINE, amount: eur(99_00) },
            side: BalancingSide::Credit,
        },
    );
    h.transfer(repay).unwrap();
    assert_eq!(h.book.transfer(t(2)).unwrap().amount, eur(20_00));
}

#[test]
fn a_correction_compensates_without_touching_the_original() {
    let mut h = Harness::new();
    h.fund_wallet(1, 100_00);
    let original = h.book.transfer(t(1)).unwrap().clone();
    h.transfer(NewTransfer::correction(t(2), t(1), Some(eur(40_00)), "duplicate top-up")).unwrap();
    let correction = h.book.transfer(t(2)).unwrap();
    assert_eq!((correction.debit_account, correction.credit_account), (WALLET, CASH));
    assert_eq!(h.book.transfer(t(1)).unwrap(), &original, "the original is never changed");
    assert_eq!(h.balance(WALLET).available(AccountKind::Liability), 60_00);
    h.rejects_transfer(
        NewTransfer::correction(t(3), t(1), Some(eur(60_01)), "too much"),
        Rejection::CorrectionExceedsOriginal {
            original: t(1),
            remaining: eur(60_00),
            requested: eur(60_01),
        },
    );
    h.transfer(NewTransfer::correction(t(4), t(1), None, "the rest")).unwrap();
    assert_eq!(h.book.transfer(t(4)).unwrap().amount, eur(60_00));
    h.rejects_transfer(
        NewTransfer::correction(t(5), t(1), None, "again"),
        Rejection::CorrectionExceedsOriginal {
            original: t(1),
            remaining: eur(0),
            requested: eur(0),
        },
    );
    h.rejects_transfer(
        NewTransfer::correction(t(6), t(2), None, "correct a correction"),
        Rejection::NotCorrectable { original: t(2) },
    );
    h.rejects_transfer(
        NewTransfer::correction(t(7), t(1), None, "  "),
        Rejection::Invalid { field: "reason", reason: "must not be empty" },
    );
}

#[test]
fn a_pending_transfer_is_not_correctable_but_its_posting_is() {
    let mut h = Harness::new();
    h.fund_wallet(1, 100_00);
    h.transfer(NewTransfer::pending(t(2), WALLET, CASH, eur(10_00), None)).unwrap();
    h.rejects_transfer(
        NewTransfer::correction(t(3), t(2), None, "refund"),
        Rejection::NotCorrectable { original: t(2) },
    );
    h.transfer(NewTransfer::post(t(4), t(2), None)).unwrap();
    h.transfer(NewTransfer::correction(t(5), t(4), None, "refund")).unwrap();
    assert_eq!(h.balance(WALLET).available(AccountKind::Liability), 100_00);
}

#[test]
fn effective_dates_may_not_lie_in_the_future_or_before_what_they_depend_on() {
    let mut h = Harness::new();
    let later = h.now + Duration::seconds(1);
    h.rejects_transfer(
        NewTransfer::posted(t(1), CASH, WALLET, eur(1)).effective_at(later),
        Rejection::InFuture { at: later, now: h.now },
    );
    let before = h.now - Duration::days(1);
    h.rejects_transfer(
        NewTransfer::posted(t(1), CASH, WALLET, eur(1)).effective_at(before),
        Rejection::EffectiveTooEarly { at: before, earliest: h.now },
    );
    h.now += Duration::days(2);
    h.transfer(NewTransfer::pending(t(2), CASH, WALLET, eur(1), None)).unwrap();
    let too_early = h.now - Duration::hours(1);
    h.rejects_transfer(
        NewTransfer::post(t(3), t(2), None).effective_at(too_early),
        Rejection::EffectiveTooEarly { at: too_early, earliest: h.now },
    );
}
