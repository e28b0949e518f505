//! Opening accounts, batch limits and linked batches, and replay: the book as a whole.

#![allow(clippy::inconsistent_digit_grouping, reason = "amounts read as units_cents")]

use super::*;

#[test]
fn accounts_open_idempotently_and_reject_conflicting_definitions() {
    let mut h = Harness::new();
    let same = NewAccount::new(WALLET, Asset::EUR, AccountKind::Liability).no_overdraft();
    assert!(h.ok(Command::OpenAccounts(vec![same])).is_empty());
    h.rejects(
        Command::OpenAccounts(vec![NewAccount::new(WALLET, Asset::USD, AccountKind::Liability)]),
        Rejection::AccountExists { account: WALLET },
    );
    let both = AccountFlags {
        debits_must_not_exceed_credits: true,
        credits_must_not_exceed_debits: true,
        spread: false,
    };
    let fresh = AccountId::from_u128(50);
    h.rejects(
        Command::OpenAccounts(vec![
            NewAccount::new(fresh, Asset::EUR, AccountKind::Asset).flags(both),
        ]),
        Rejection::ConflictingFlags { account: fresh },
    );
    h.rejects(Command::OpenAccounts(vec![]), Rejection::EmptyBatch);
    let later = h.now + Duration::hours(1);
    h.rejects(
        Command::OpenAccounts(vec![
            NewAccount::new(fresh, Asset::EUR, AccountKind::Asset).opened_at(later),
        ]),
        Rejection::InFuture { at: later, now: h.now },
    );
    let mut crowded = NewAccount::new(fresh, Asset::EUR, AccountKind::Asset);
    for i in 0..=fintra_core::limits::HEADERS_MAX {
        crowded = crowded.with_metadata(&format!("k{i}"), "v");
    }
    h.rejects(
        Command::OpenAccounts(vec![crowded]),
        Rejection::TooLarge {
            what: "account metadata entries",
            max: fintra_core::limits::HEADERS_MAX,
            actual: fintra_core::limits::HEADERS_MAX + 1,
        },
    );
}

#[test]
fn oversized_references_and_batches_are_refused() {
    let h = Harness::new();
    let long = "x".repeat(REFERENCE_BYTES_MAX + 1);
    h.rejects_transfer(
        NewTransfer::posted(t(1), CASH, WALLET, eur(1)).reference(&long),
        Rejection::TooLarge {
            what: "transfer reference bytes",
            max: REFERENCE_BYTES_MAX,
            actual: REFERENCE_BYTES_MAX + 1,
        },
    );
    let batch: Vec<_> = (0..=LINKED_TRANSFERS_MAX as u128)
        .map(|i| NewTransfer::posted(t(i + 1), CASH, WALLET, eur(1)))
        .collect();
    h.rejects(
        Command::Linked(batch),
        Rejection::TooLarge {
            what: "linked transfers",
            max: LINKED_TRANSFERS_MAX,
            actual: LINKED_TRANSFERS_MAX + 1,
        },
    );
    h.rejects(Command::Linked(vec![]), Rejection::EmptyBatch);
}

#[test]
fn a_linked_batch_is_all_or_nothing_and_names_the_failing_member() {
    let mut h = Harness::new();
    h.fund_wallet(1, 10_00);
    let batch = vec![
        NewTransfer::posted(t(2), WALLET, CASH, eur(6_00)),
        NewTransfer::posted(t(3), WALLET, FEES, eur(1_00)),
        NewTransfer::posted(t(4), WALLET, CASH, eur(4_00)), // 6 + 1 + 4 > 10
    ];
    h.rejects(
        Command::Linked(batch.clone()),
        Rejection::LinkedFailed {
            index: 2,
            id: t(4),
            cause: Box::new(Rejection::ExceedsCredits {
                account: WALLET,
                debits: eur(11_00),
                credits: eur(10_00),
            }),
        },
    );
    assert!(h.run(Command::Linked(batch)).is_err());
    assert_eq!(h.book.transfer_count(), 1, "nothing of the failed batch was applied");
    assert_eq!(h.balance(WALLET).debits_posted, 0);
}

#[test]
fn later_members_of_a_linked_batch_see_earlier_ones() {
    let mut h = Harness::new();
    let events = h.ok(Command::Linked(vec![
        NewTransfer::posted(t(1), CASH, WALLET, eur(10_00)),
        NewTransfer::pending(t(2), WALLET, CASH, eur(10_00), None),
        NewTransfer::post(t(3), t(2), Some(eur(4_00))),
    ]));
    assert_eq!(transferred(&events).len(), 3);
    assert_eq!(h.balance(WALLET).available(AccountKind::Liability), 6_00);
    // Retrying the whole batch changes nothing.
    assert!(
        h.ok(Command::Linked(vec![
            NewTransfer::posted(t(1), CASH, WALLET, eur(10_00)),
            NewTransfer::pending(t(2), WALLET, CASH, eur(10_00), None),
            NewTransfer::post(t(3), t(2), Some(eur(4_00))),
        ]))
        .is_empty()
    );
}

#[test]
fn replaying_the_log_yields_the_same_book_and_state_survives_a_snapshot() {
    let mut h = Harness::new();
    h.fund_wallet(1, 100_00);
    h.transfer(NewTransfer::pending(t(2), WALLET, CASH, eur(30_00), Some(60))).unwrap();
    h.transfer(NewTransfer::correction(t(3), t(1), Some(eur(5_00)), "fee refund")).unwrap();
    let mut replayed = LedgerBook::default();
    h.history.iter().for_each(|e| replayed.apply(e));
    assert_eq!(replayed, h.book);
    let json = serde_json::to_vec(&h.book).unwrap();
    let restored: LedgerBook = serde_json::from_slice(&json).unwrap();
    assert_eq!(restored, h.book);
    for event in &h.history {
        let bytes = serde_json::to_vec(event).unwrap();
        assert_eq!(&serde_json::from_slice::<LedgerEvent>(&bytes).unwrap(), event);
    }
}

#[test]
fn applying_the_same_transfer_twice_counts_once() {
    let mut h = Harness::new();
    let events = h.transfer(NewTransfer::posted(t(1), CASH, WALLET, eur(7_00))).unwrap();
    events.iter().for_each(|e| h.book.apply(e));
    assert_eq!(h.balance(WALLET).credits_posted, 7_00);
}

/// A batch decides every entry against what the entries before it left, and a refused entry
/// takes back whatever it had already folded: later entries see the book as if it never ran.
#[test]
fn a_batch_gives_each_entry_its_own_result_and_rolls_back_only_the_refused_ones() {
    let mut h = Harness::new();
    h.fund_wallet(1, 50_00);
    let spend =
        |id, minor| BatchEntry::Single(NewTransfer::posted(t(id), WALLET, CASH, eur(minor)));
    let chain_fails = BatchEntry::Linked(vec![
        NewTransfer::posted(t(20), CASH, WALLET, eur(5_00)),
        NewTransfer::posted(t(21), WALLET, DOLLARS, eur(1_00)),
    ]);
    let chain_holds = BatchEntry::Linked(vec![
        NewTransfer::posted(t(30), CASH, WALLET, eur(10_00)),
        NewTransfer::posted(t(31), WALLET, FEES, eur(10_00)),
    ]);
    let entries = vec![
        spend(10, 80_00),
        spend(11, 30_00),
        chain_fails,
        spend(12, 30_00),
        chain_holds,
        spend(13, 20_00),
        spend(11, 30_00),
    ];
    let decision = h.book.decide_batch(&entries, h.now).unwrap();
    assert!(matches!(decision.results[0], Err(Rejection::ExceedsCredits { .. })), "{decision:?}");
    assert_eq!(decision.results[1], Ok(()));
    assert!(
        matches!(&decision.results[2], Err(Rejection::LinkedFailed { index: 1, .. })),
        "{:?}",
        decision.results[2]
    );
    assert!(matches!(decision.results[3], Err(Rejection::ExceedsCredits { .. })));
    assert_eq!(decision.results[4..], [Ok(()), Ok(()), Ok(())]);
    // One event carries the four accepted transfers (11, 30, 31, 13); the repeat of 11 adds none.
    let [LedgerEvent::TransferredBatch(batch)] = &decision.events[..] else {
        panic!("{:?}", decision.events);
    };
    let ids: Vec<TransferId> = batch.iter().map(|r| r.transfer.id()).collect();
    assert_eq!(ids, [t(11), t(30), t(31), t(13)]);
    decision.events.iter().for_each(|e| h.book.apply(e));
    assert_eq!(h.balance(WALLET).available(AccountKind::Liability), 0);
    assert_eq!(h.balance(FEES).credits_posted, 10_00);
    assert!(h.book.transfer(t(20)).is_none() && h.book.transfer(t(10)).is_none());
    // The same batch again changes nothing.
    let again = h.book.decide_batch(&entries[1..2], h.now).unwrap();
    assert!(again.events.is_empty() && again.results == [Ok(())]);
    assert!(h.book.trial_balance().values().all(TrialBalance::is_balanced));
}

#[test]
fn batches_split_events_by_size_and_effective_instant_and_check_their_limits() {
    let mut h = Harness::new();
    h.fund_wallet(1, 1_000_000_00);
    h.now += Duration::days(2);
    let n = TRANSFERS_PER_EVENT_MAX * 2 + 1;
    let earlier = h.now - Duration::days(1);
    let mut entries: Vec<BatchEntry> = (0..n)
        .map(|i| {
            let id = t(1_000 + u128::try_from(i).unwrap());
            BatchEntry::Single(NewTransfer::posted(id, WALLET, CASH, eur(1)))
        })
        .collect();
    entries.push(BatchEntry::Single(
        NewTransfer::posted(t(99), WALLET, CASH, eur(1)).effective_at(earlier),
    ));
    let decision = h.book.decide_batch(&entries, h.now).unwrap();
    assert!(decision.results.iter().all(Result::is_ok), "{:?}", decision.first_rejection());
    let sizes: Vec<(usize, Option<DateTime<Utc>>)> = decision
        .events
        .iter()
        .map(|e| match e {
            LedgerEvent::TransferredBatch(b) => (b.len(), e.occurred_at()),
            other => panic!("{other:?}"),
        })
        .collect();
    let now = Some(h.now);
    assert_eq!(
        sizes,
        [
            (TRANSFERS_PER_EVENT_MAX, now),
            (TRANSFERS_PER_EVENT_MAX, now),
            (1, now),
            (1, Some(earlier))
        ]
    );
    assert_eq!(h.book.decide_batch(&[], h.now), Err(Rejection::EmptyBatch));
    let too_many = vec![entries[0].clone(); BATCH_TRANSFERS_MAX + 1];
    assert_eq!(
        h.book.decide_batch(&too_many, h.now),
        Err(Rejection::TooLarge {
            what: "transfers in one batch",
            max: BATCH_TRANSFERS_MAX,
            actual: BATCH_TRANSFERS_MAX + 1
        })
    );
}
