//! Property tests over random ledger workloads: double entry holds per currency, no balance
//! crosses its flag's bound, replay reproduces the state, and a retried transfer never applies
//! twice. 10,000 workloads per run (`PROPTEST_CASES` overrides).

#![allow(clippy::inconsistent_digit_grouping, reason = "amounts read as units_cents")]
#![allow(clippy::unwrap_used, reason = "test helpers fail the test on a setup error")]

use chrono::{DateTime, Duration, TimeZone, Utc};
use fintra_core::{Aggregate, Asset, DecideContext, Money, SequentialIdGenerator};
use fintra_ledger::{
    AccountFlags, AccountId, AccountKind, BalancingSide, Command, LedgerBook, LedgerEvent, Leg,
    NewAccount, NewTransfer, TransferId, TransferKind,
};
use proptest::prelude::*;

const ACCOUNTS: u128 = 8;

fn accounts() -> Vec<NewAccount> {
    let no_overdraft = AccountFlags { debits_must_not_exceed_credits: true, ..Default::default() };
    let credit_line = AccountFlags { credits_must_not_exceed_debits: true, ..Default::default() };
    let id = AccountId::from_u128;
    vec![
        NewAccount::new(id(0), Asset::EUR, AccountKind::Asset),
        NewAccount::new(id(1), Asset::EUR, AccountKind::Liability).flags(no_overdraft),
        NewAccount::new(id(2), Asset::EUR, AccountKind::Liability).flags(no_overdraft),
        NewAccount::new(id(3), Asset::EUR, AccountKind::Income),
        NewAccount::new(id(4), Asset::EUR, AccountKind::Asset).flags(credit_line),
        NewAccount::new(id(5), Asset::USD, AccountKind::Asset),
        NewAccount::new(id(6), Asset::USD, AccountKind::Liability).flags(no_overdraft),
        NewAccount::new(id(7), Asset::JPY, AccountKind::Equity),
    ]
}

#[derive(Clone, Debug)]
enum Op {
    Posted { debit: u128, credit: u128, amount: i128, eur: bool },
    Pending { debit: u128, credit: u128, amount: i128, timeout: Option<u32> },
    Post { pick: usize, part: Option<i128> },
    Void { pick: usize },
    Balancing { debit: u128, credit: u128, amount: i128, credit_side: bool },
    Correction { pick: usize, part: Option<i128> },
    Linked { legs: Vec<(u128, u128, i128)> },
    Retry { pick: usize },
    Advance { secs: i64 },
    Expire,
    Close { account: u128 },
}

fn amount() -> impl Strategy<Value = i128> {
    prop_oneof![
        8 => 1i128..5_000,
        1 => -5i128..=0,
        1 => Just(i128::MAX / 2),
    ]
}

/// Mostly the five EUR accounts, so most transfers are valid; sometimes any account.
fn account() -> impl Strategy<Value = u128> + Clone {
    prop_oneof![4 => 0u128..5, 1 => 0..ACCOUNTS]
}

fn op() -> impl Strategy<Value = Op> {
    let acct = account();
    prop_oneof![
        6 => (acct.clone(), acct.clone(), amount(), proptest::bool::weighted(0.9))
            .prop_map(|(debit, credit, amount, eur)| Op::Posted { debit, credit, amount, eur }),
        3 => (acct.clone(), acct.clone(), amount(), proptest::option::of(1u32..120))
            .prop_map(|(debit, credit, amount, timeout)| Op::Pending { debit, credit, amount, timeout }),
        2 => (any::<usize>(), proptest::option::of(1i128..5_000))
            .prop_map(|(pick, part)| Op::Post { pick, part }),
        1 => any::<usize>().prop_map(|pick| Op::Void { pick }),
        1 => (acct.clone(), acct.clone(), amount(), any::<bool>())
            .prop_map(|(debit, credit, amount, credit_side)| Op::Balancing { debit, credit, amount, credit_side }),
        1 => (any::<usize>(), proptest::option::of(1i128..5_000))
            .prop_map(|(pick, part)| Op::Correction { pick, part }),
        1 => proptest::collection::vec((acct.clone(), acct.clone(), amount()), 1..4)
            .prop_map(|legs| Op::Linked { legs }),
        2 => any::<usize>().prop_map(|pick| Op::Retry { pick }),
        1 => (1i64..90).prop_map(|secs| Op::Advance { secs }),
        1 => Just(Op::Expire),
        1 => acct.prop_map(|account| Op::Close { account }),
    ]
}

struct World {
    book: LedgerBook,
    now: DateTime<Utc>,
    history: Vec<LedgerEvent>,
    accepted: Vec<Command>,
    next_id: u128,
}

impl World {
    fn new() -> Self {
        let mut world = Self {
            book: LedgerBook::default(),
            now: Utc.with_ymd_and_hms(2024, 1, 1, 0, 0, 0).unwrap(),
            history: Vec::new(),
            accepted: Vec::new(),
            next_id: 1,
        };
        let opened = world.run(&Command::OpenAccounts(accounts()));
        assert!(opened.is_ok());
        world
    }

    fn id(&mut self) -> TransferId {
        self.next_id += 1;
        TransferId::from_u128(self.next_id)
    }

    fn run(&mut self, command: &Command) -> Result<usize, fintra_ledger::Rejection> {
        let ids = SequentialIdGenerator::default();
        let events = self.book.decide(command, &DecideContext::new(self.now, &ids))?;
        events.iter().for_each(|e| self.book.apply(e));
        self.history.extend(events.iter().cloned());
        Ok(events.len())
    }

    fn asset(account: u128, eur: bool) -> Asset {
        match (account, eur) {
            (5 | 6, _) => Asset::USD,
            (7, _) => Asset::JPY,
            (_, true) => Asset::EUR,
            (_, false) => Asset::USD, // a mismatch on purpose
        }
    }

    fn leg(debit: u128, credit: u128, amount: i128, eur: bool) -> Leg {
        Leg {
            debit: AccountId::from_u128(debit),
            credit: AccountId::from_u128(credit),
            amount: Money::new(amount, Self::asset(debit, eur)),
        }
    }

    /// Ids of recorded transfers with a given property, to pick from.
    fn pick(&self, pick: usize, wanted: impl Fn(&fintra_ledger::Transfer) -> bool) -> TransferId {
        let ids: Vec<TransferId> = self
            .history
            .iter()
            .filter_map(|e| match e {
                LedgerEvent::Transferred(t) if wanted(&t.transfer) => Some(t.transfer.id()),
                _ => None,
            })
            .collect();
        if ids.is_empty() { TransferId::from_u128(u128::MAX) } else { ids[pick % ids.len()] }
    }

    fn command(&mut self, op: &Op) -> Option<Command> {
        let asset_of = |pick_asset: Asset, n: i128| Money::new(n, pick_asset);
        Some(match op {
            Op::Posted { debit, credit, amount, eur } => Command::Transfer(NewTransfer::new(
                self.id(),
                TransferKind::Posted { leg: Self::leg(*debit, *credit, *amount, *eur) },
            )),
            Op::Pending { debit, credit, amount, timeout } => {
                let leg = Self::leg(*debit, *credit, *amount, true);
                Command::Transfer(NewTransfer::new(
                    self.id(),
                    TransferKind::Pending { leg, timeout_secs: *timeout },
                ))
            }
            Op::Post { pick, part } => {
                let pending =
                    self.pick(*pick, |t| matches!(t.phase, fintra_ledger::Phase::Pending { .. }));
                let asset = self.book.transfer(pending).map_or(Asset::EUR, |t| t.amount.asset());
                let part = part.map(|n| asset_of(asset, n));
                Command::Transfer(NewTransfer::post(self.id(), pending, part))
            }
            Op::Void { pick } => {
                let pending =
                    self.pick(*pick, |t| matches!(t.phase, fintra_ledger::Phase::Pending { .. }));
                Command::Transfer(NewTransfer::void(self.id(), pending))
            }
            Op::Balancing { debit, credit, amount, credit_side } => {
                let side = if *credit_side { BalancingSide::Credit } else { BalancingSide::Debit };
                let leg = Self::leg(*debit, *credit, *amount, true);
                Command::Transfer(NewTransfer::new(
                    self.id(),
                    TransferKind::Balancing { leg, side },
                ))
            }
            Op::Correction { pick, part } => {
                let original = self.pick(*pick, |_| true);
                let asset = self.book.transfer(original).map_or(Asset::EUR, |t| t.amount.asset());
                let part = part.map(|n| asset_of(asset, n));
                Command::Transfer(NewTransfer::correction(self.id(), original, part, "property"))
            }
            Op::Linked { legs } => Command::Linked(
                legs.iter()
                    .map(|(d, c, a)| {
                        NewTransfer::new(
                            self.id(),
                            TransferKind::Posted { leg: Self::leg(*d, *c, *a, true) },
                        )
                    })
                    .collect(),
            ),
            Op::Retry { pick } => {
                let transfers: Vec<&Command> = self
                    .accepted
                    .iter()
                    .filter(|c| matches!(c, Command::Transfer(_) | Command::Linked(_)))
                    .collect();
                if transfers.is_empty() {
                    return None;
                }
                transfers[pick % transfers.len()].clone()
            }
            Op::Advance { secs } => {
                self.now += Duration::seconds(*secs);
                return None;
            }
            Op::Expire => Command::ExpirePending,
            Op::Close { account } => Command::CloseAccount(AccountId::from_u128(*account)),
        })
    }

    fn check_invariants(&self) -> Result<(), TestCaseError> {
        for ((ledger, asset), total) in self.book.trial_balance() {
            prop_assert!(total.is_balanced(), "ledger {ledger} {asset}: {total:?}");
        }
        for (account, balance) in self.book.accounts() {
            let flags = account.spec.flags;
            prop_assert!(balance.debits_pending >= 0 && balance.credits_pending >= 0);
            if flags.debits_must_not_exceed_credits {
                prop_assert!(
                    balance.debits_pending + balance.debits_posted <= balance.credits_posted,
                    "{:?} crossed its bound: {balance:?}",
                    account.id()
                );
            }
            if flags.credits_must_not_exceed_debits {
                prop_assert!(
                    balance.credits_pending + balance.credits_posted <= balance.debits_posted,
                    "{:?} crossed its bound: {balance:?}",
                    account.id()
                );
            }
        }
        Ok(())
    }
}

fn cases() -> u32 {
    std::env::var("PROPTEST_CASES").ok().and_then(|v| v.parse().ok()).unwrap_or(10_000)
}

proptest! {
    #![proptest_config(ProptestConfig { cases: cases(), ..ProptestConfig::default() })]

    #[test]
    fn random_workloads_keep_every_ledger_invariant(ops in proptest::collection::vec(op(), 1..40)) {
        let mut world = World::new();
        for op in &ops {
            let Some(command) = world.command(op) else { continue };
            let retry = matches!(op, Op::Retry { .. });
            let before = world.book.clone();
            match world.run(&command) {
                Ok(events) => {
                    if retry {
                        prop_assert_eq!(events, 0, "a retried transfer applied again");
                        prop_assert_eq!(&world.book, &before);
                    }
                    world.accepted.push(command);
                }
                Err(_) => prop_assert_eq!(&world.book, &before, "a rejection changed the state"),
            }
            world.check_invariants()?;
        }
        // Replaying the log yields the same balances.
        let mut replayed = LedgerBook::default();
        world.history.iter().for_each(|e| replayed.apply(e));
        prop_assert_eq!(&replayed, &world.book);
        // Every transfer id is recorded once.
        let mut ids: Vec<TransferId> = world.history.iter().filter_map(|e| match e {
            LedgerEvent::Transferred(t) => Some(t.transfer.id()),
            _ => None,
        }).collect();
        let recorded = ids.len();
        ids.sort();
        ids.dedup();
        prop_assert_eq!(ids.len(), recorded);
    }
}
