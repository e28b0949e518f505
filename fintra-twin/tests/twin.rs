//! The twin's engines on hand-checked cases, and spec §4.4–4.5 (balance sheet, cash flow),
//! §4.15 (corrections), §4.16 (time travel) and §4.17 (what-if forks).

#![allow(clippy::unwrap_used, reason = "test helpers fail the test on a setup error")]
#![allow(clippy::inconsistent_digit_grouping, reason = "amounts read as units_cents")]

use std::sync::Arc;

use chrono::{Duration, NaiveDate, TimeZone, Utc};
use fintra_core::testing::AggregateSpec;
use fintra_core::{
    Asset, EventMetadata, EventStore, InMemoryEventStore, ManualClock, Repository, StreamId,
};
use fintra_twin::connect::{BasicCategoriser, CategoriseRequest, Categoriser};
use fintra_twin::fos::{
    AccountType, Enrichment, FlowType, Frequency, Lineage, ManualAsset, Source, TransactionStatus,
    UnifiedAccount, UnifiedTransaction,
};
use fintra_twin::{
    self, CashflowStatus, Profile, ProfileCommand, ProfileEvent, ProfileRejection, WhatIf,
};

fn d(y: i32, m: u32, day: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(y, m, day).unwrap()
}

fn account(id: &str, account_type: AccountType, balance_minor: i128) -> UnifiedAccount {
    UnifiedAccount {
        account_id: format!("csv:{id}"),
        source: Source::Csv,
        provider_account_id: id.into(),
        institution_id: None,
        name: id.into(),
        account_type,
        class: account_type.class(),
        currency: Asset::GBP,
        balance_minor: Some(balance_minor),
        balance_exact: None,
        available_balance_minor: None,
    }
}

/// The categories these engine tests need, set by hand as the Brain would set them (the
/// Brain's own accuracy is tested in fintra-ml); anything else gets Connect's basic default.
fn enrichment(description: &str, amount_minor: i128) -> Enrichment {
    let category = match description {
        "ACME SALARY" => Some("Income > Salary"),
        "RENT OCEAN LTD" => Some("Housing > Rent"),
        "NETFLIX.COM" => Some("Subscriptions > Video"),
        "TESCO STORES 3021" => Some("Groceries > Supermarket"),
        "CINEMA CITY" => Some("Entertainment > Cinema Theatre"),
        "CREDIT CARD PAYMENT" | "PAYMENT THANK YOU" => Some("Loans > Credit Card"),
        "PUREGYM" => Some("Health > Fitness"),
        "BET365 LTD" => Some("Entertainment > Gambling"),
        "CASH WITHDRAWAL" => Some("Cash > Withdrawal"),
        _ => None,
    };
    let basic = BasicCategoriser.categorise(&CategoriseRequest {
        profile: None,
        description,
        amount_minor,
        provider_merchant: None,
        provider_category: None,
        now: chrono::DateTime::UNIX_EPOCH,
    });
    match category {
        Some(category) => Enrichment {
            category: category.to_owned(),
            lineage: Lineage::new("TEST", chrono::DateTime::UNIX_EPOCH),
            ..basic
        },
        None => basic,
    }
}

fn txn(
    id: &str,
    account: &str,
    date: NaiveDate,
    description: &str,
    amount_minor: i128,
) -> UnifiedTransaction {
    UnifiedTransaction {
        transaction_id: format!("csv:{id}"),
        account_id: format!("csv:{account}"),
        provider_transaction_id: id.into(),
        pending_transaction_id: None,
        amount_minor,
        currency: Asset::GBP,
        status: TransactionStatus::Posted,
        date,
        description: description.into(),
        balance_after_minor: None,
        enrichment: Some(enrichment(description, amount_minor)),
        provider_category: None,
        original: None,
    }
}

struct Twin {
    repository: Repository<Profile, InMemoryEventStore>,
    stream: StreamId,
}

impl Twin {
    async fn new(today: NaiveDate) -> Self {
        let clock = Arc::new(ManualClock::new(
            Utc.from_utc_datetime(&today.and_hms_opt(12, 0, 0).unwrap()),
        ));
        let repository = Repository::<Profile, _>::new(InMemoryEventStore::new()).with_clock(clock);
        let stream = repository.stream_id(uuid::Uuid::from_u128(1)).unwrap();
        let twin = Self { repository, stream };
        twin.run(ProfileCommand::Create { profile_id: "usr_1".into(), base_currency: Asset::GBP })
            .await;
        twin
    }

    async fn run(&self, command: ProfileCommand) {
        self.repository.execute(&self.stream, &command, &EventMetadata::default()).await.unwrap();
    }

    async fn import(&self, accounts: Vec<UnifiedAccount>, transactions: Vec<UnifiedTransaction>) {
        let anchors = Profile::default().anchors(&accounts, &transactions).unwrap();
        let import_id = uuid::Uuid::from_u128(7);
        self.run(ProfileCommand::Import {
            import_id,
            source: Source::Csv,
            accounts,
            transactions,
            anchors,
        })
        .await;
    }

    async fn profile(&self) -> Profile {
        self.repository.load(&self.stream).await.unwrap().state
    }
}

/// Salary on the 25th, rent on the 1st, Netflix on the 7th, groceries twice a month, a card
/// repayment (an internal transfer), January to June 2024; current account ends at 2,000.00.
fn household() -> (Vec<UnifiedAccount>, Vec<UnifiedTransaction>) {
    let accounts = vec![
        account("cur", AccountType::Checking, 2_000_00),
        account("sav", AccountType::Savings, 5_000_00),
        account("card", AccountType::CreditCard, -300_00),
        account("loan", AccountType::Loan, -4_000_00),
    ];
    let mut txns = Vec::new();
    for m in 1..=6u32 {
        txns.push(txn(&format!("sal{m}"), "cur", d(2024, m, 25), "ACME SALARY", 3_000_00));
        txns.push(txn(&format!("rent{m}"), "cur", d(2024, m, 1), "RENT OCEAN LTD", -1_500_00));
        txns.push(txn(&format!("nf{m}"), "card", d(2024, m, 7), "NETFLIX.COM", -10_99));
        txns.push(txn(&format!("gro{m}a"), "card", d(2024, m, 10), "TESCO STORES 3021", -100_00));
        txns.push(txn(&format!("gro{m}b"), "card", d(2024, m, 20), "TESCO STORES 3021", -50_00));
        txns.push(txn(&format!("fun{m}"), "cur", d(2024, m, 15), "CINEMA CITY", -40_00));
        txns.push(txn(&format!("pay{m}"), "cur", d(2024, m, 22), "CREDIT CARD PAYMENT", -160_99));
        txns.push(txn(&format!("cpay{m}"), "card", d(2024, m, 22), "PAYMENT THANK YOU", 160_99));
    }
    (accounts, txns)
}

#[tokio::test]
async fn the_balance_sheet_sums_signed_balances_and_manual_assets() {
    let twin = Twin::new(d(2024, 6, 28)).await;
    let (accounts, txns) = household();
    twin.import(accounts, txns).await;
    let asset = ManualAsset {
        asset_id: "flat".into(),
        asset_type: "REAL_ESTATE".into(),
        name: "Flat".into(),
        currency: Asset::GBP,
        value_minor: 200_000_00,
        valuation_date: d(2024, 1, 1),
        attributes: Default::default(),
    };
    twin.run(ProfileCommand::ValueManualAsset(asset)).await;
    let sheet = fintra_twin::balance_sheet(&twin.profile().await);
    // Assets: 2,000 + 5,000 + 200,000 = 207,000; debt: 300 + 4,000 = 4,300.
    assert_eq!(sheet.total_assets_minor, 207_000_00);
    assert_eq!(sheet.total_debt_minor, 4_300_00);
    assert_eq!(sheet.net_worth_minor, 202_700_00, "net worth = signed sum (liabilities negative)");
    assert_eq!(sheet.by_group[&fintra_twin::fos::BalanceGroup::Property], 200_000_00);
}

#[tokio::test]
async fn cash_flow_engine_on_a_hand_checked_household() {
    let today = d(2024, 6, 28);
    let twin = Twin::new(today).await;
    let (accounts, txns) = household();
    twin.import(accounts, txns).await;
    let flow = fintra_twin::cashflow(&twin.profile().await, today);
    // Window: March, April, May (three complete months before June).
    assert_eq!(flow.window, Some((d(2024, 3, 1), d(2024, 5, 31))));
    assert_eq!(flow.monthly_income_minor, 3_000_00);
    // Burn: rent 1,500 + Netflix 10.99 + groceries 150 + cinema 40; the card repayment is a
    // transfer between own accounts and does not count.
    assert_eq!(flow.monthly_burn_minor, 1_700_99);
    // Essential: rent 1,500 + groceries 150.
    assert_eq!(flow.essential_spend_minor, 1_650_00);
    assert_eq!(flow.free_cash_flow_minor, 1_350_00);
    // Streams: salary, rent, Netflix monthly.
    let find = |m: &str| flow.streams.iter().find(|s| s.merchant.contains(m)).unwrap();
    let salary = find("Acme");
    assert_eq!(
        (salary.flow, salary.frequency, salary.amount_minor),
        (FlowType::Income, Frequency::Monthly, 3_000_00)
    );
    assert_eq!(
        salary.next_expected_date,
        d(2024, 6, 25)
            + Duration::days(0).max(Duration::days(0))
            + (d(2024, 7, 25) - d(2024, 6, 25))
    );
    assert!((salary.confidence_score - 1.0).abs() < f64::EPSILON);
    let rent = find("Rent");
    assert_eq!((rent.flow, rent.next_expected_date), (FlowType::Expense, d(2024, 7, 1)));
    assert_eq!(find("Netflix").next_expected_date, d(2024, 7, 7));
    // Safe to spend: 2,000 in the current account minus what is due before the next salary
    // (25 July): rent 1,500 on 1 July, Netflix 10.99 on 7 July, the cinema 40 on 15 July
    // (monthly on the 15th, so recurring too).
    assert_eq!(flow.safe_to_spend_minor, 2_000_00 - 1_500_00 - 10_99 - 40_00);
    // Runway: liquid 7,000 × 30 / 1,700.99 = 123 days.
    assert_eq!(flow.days_runway, Some(123));
    assert_eq!(flow.status, CashflowStatus::Healthy);
}

#[tokio::test]
async fn safe_to_spend_matches_the_spec_example() {
    // "£2,000 today, £1,500 rent due Tuesday ⇒ effectively broke" (rent recurring monthly).
    let today = d(2024, 4, 28); // a Sunday; rent due Wednesday 1 May
    let twin = Twin::new(today).await;
    let accounts = vec![account("cur", AccountType::Checking, 2_000_00)];
    let mut txns = Vec::new();
    for m in 1..=4u32 {
        txns.push(txn(&format!("rent{m}"), "cur", d(2024, m, 1), "RENT OCEAN LTD", -1_500_00));
        txns.push(txn(&format!("sal{m}"), "cur", d(2024, m, 10), "ACME SALARY", 1_600_00));
    }
    twin.import(accounts, txns).await;
    let flow = fintra_twin::cashflow(&twin.profile().await, today);
    assert_eq!(flow.safe_to_spend_minor, 500_00, "2,000 − 1,500 rent due before the next salary");
}

#[tokio::test]
async fn irregular_or_ended_payments_are_not_recurring() {
    let today = d(2024, 9, 30);
    let twin = Twin::new(today).await;
    let accounts = vec![account("cur", AccountType::Checking, 1_000_00)];
    let txns = vec![
        // Three gym payments, then nothing since April: ended.
        txn("g1", "cur", d(2024, 2, 2), "PUREGYM", -25_00),
        txn("g2", "cur", d(2024, 3, 2), "PUREGYM", -25_00),
        txn("g3", "cur", d(2024, 4, 2), "PUREGYM", -25_00),
        // Random gaps: not a pattern.
        txn("r1", "cur", d(2024, 1, 3), "CORNER SHOP", -5_00),
        txn("r2", "cur", d(2024, 1, 9), "CORNER SHOP", -5_00),
        txn("r3", "cur", d(2024, 3, 30), "CORNER SHOP", -5_00),
        txn("r4", "cur", d(2024, 9, 1), "CORNER SHOP", -5_00),
    ];
    twin.import(accounts, txns).await;
    assert!(fintra_twin::recurring_streams(&twin.profile().await, today).is_empty());
}

#[tokio::test]
async fn the_solvency_score_rewards_cash_flow_and_penalises_debt_and_risk() {
    let today = d(2024, 6, 28);
    let healthy = Twin::new(today).await;
    let (accounts, txns) = household();
    healthy.import(accounts, txns).await;
    let profile = healthy.profile().await;
    let report = fintra_twin::report(&profile, today);
    // 500 + 300·1,350/3,000 (=135) + 200·123/180 (=136) − 200·4,300/7,000 (=122) = 649.
    assert_eq!(report.solvency_score, 649);
    let risky = Twin::new(today).await;
    let (accounts, mut txns) = household();
    txns.push(txn("bet", "cur", d(2024, 6, 1), "BET365 LTD", -50_00));
    risky.import(accounts, txns).await;
    let worse = fintra_twin::report(&risky.profile().await, today);
    assert!(worse.solvency_score < report.solvency_score);
}

#[tokio::test]
async fn a_correction_removes_a_duplicate_from_the_state_but_not_from_history() {
    let twin = Twin::new(d(2024, 2, 10)).await;
    let accounts = vec![account("cur", AccountType::Checking, 900_00)];
    let txns = vec![
        txn("w1", "cur", d(2024, 2, 1), "CASH WITHDRAWAL", -50_00),
        txn("w1bis", "cur", d(2024, 2, 1), "CASH WITHDRAWAL", -50_00),
    ];
    twin.import(accounts, txns).await;
    assert_eq!(twin.profile().await.account("csv:cur").unwrap().balance_minor, 900_00);
    let fix = ProfileCommand::CorrectTransaction {
        transaction_id: "csv:w1bis".into(),
        reason: "Duplicate processing".into(),
    };
    twin.run(fix.clone()).await;
    let profile = twin.profile().await;
    assert_eq!(
        profile.account("csv:cur").unwrap().balance_minor,
        950_00,
        "the duplicate's effect is compensated"
    );
    assert_eq!(
        profile.transaction("csv:w1bis").unwrap().corrected.as_deref(),
        Some("Duplicate processing")
    );
    let log = twin
        .repository
        .store()
        .read_stream(
            &twin.stream,
            fintra_core::ReadStreamOptions::from_version(fintra_core::StreamVersion::FIRST)
                .limit(100),
        )
        .await
        .unwrap();
    assert_eq!(
        log.last().unwrap().event_type,
        "TransactionCorrected",
        "mistake and fix both stay in history"
    );
    AggregateSpec::<Profile>::given([])
        .when(ProfileCommand::CorrectTransaction { transaction_id: "x".into(), reason: "r".into() })
        .then_error(ProfileRejection::NotCreated);
    let executed = twin.repository.execute(&twin.stream, &fix, &EventMetadata::default()).await;
    assert!(matches!(
        executed,
        Err(fintra_core::ExecuteError::Rejected(ProfileRejection::AlreadyCorrected(_)))
    ));
}

#[tokio::test]
async fn time_travel_shows_the_twin_as_it_was() {
    let today = d(2024, 6, 28);
    let twin = Twin::new(today).await;
    let (accounts, txns) = household();
    twin.import(accounts, txns).await;
    let march = fintra_twin::as_of(&twin.repository, &twin.stream, d(2024, 3, 31)).await.unwrap();
    // Current account on 31 March: opening + Q1 flows. Opening = 2,000 − 6 × (3,000 − 1,500 − 40 − 160.99).
    let opening = 2_000_00 - 6 * (3_000_00 - 1_500_00 - 40_00 - 160_99);
    let q1 = 3 * (3_000_00 - 1_500_00 - 40_00 - 160_99);
    assert_eq!(march.account("csv:cur").unwrap().balance_minor, opening + q1);
    let before_everything =
        fintra_twin::as_of(&twin.repository, &twin.stream, d(2023, 12, 1)).await.unwrap();
    assert!(before_everything.info.is_some(), "the profile exists on every date");
    assert_eq!(before_everything.accounts().count(), 0);
    let timeline =
        fintra_twin::net_worth_timeline(&twin.repository, &twin.stream, &[d(2024, 1, 31), today])
            .await
            .unwrap();
    assert_eq!(timeline[1].1, fintra_twin::balance_sheet(&twin.profile().await).net_worth_minor);
}

#[tokio::test]
async fn what_if_forks_never_touch_the_live_twin() {
    let today = d(2024, 6, 28);
    let twin = Twin::new(today).await;
    let (accounts, mut txns) = household();
    txns.push(txn("car", "cur", d(2024, 3, 3), "DRIVE MOTORS DEPOSIT", -4_000_00));
    twin.import(accounts, txns).await;
    let before = twin.profile().await;
    let without = WhatIf::Without { transaction_id: "csv:car".into() };
    let report =
        fintra_twin::what_if(&twin.repository, &twin.stream, &without, today).await.unwrap();
    assert_eq!(report.net_worth_branch_minor - report.net_worth_live_minor, 4_000_00);
    let raise =
        WhatIf::IncomeRaise { merchant: "Acme Salary".into(), from: d(2024, 4, 1), percent: 10 };
    let richer = fintra_twin::what_if(&twin.repository, &twin.stream, &raise, today).await.unwrap();
    // Three salaries (April–June) 10 % higher.
    assert_eq!(richer.net_worth_branch_minor - richer.net_worth_live_minor, 3 * 300_00);
    assert_eq!(
        richer.free_cash_flow_branch_minor - richer.free_cash_flow_live_minor,
        200_00,
        "two of three window months raised"
    );
    assert_eq!(twin.profile().await, before, "the live stream is untouched");
    let nothing = WhatIf::Without { transaction_id: "csv:none".into() };
    assert!(matches!(
        fintra_twin::what_if(&twin.repository, &twin.stream, &nothing, today).await,
        Err(fintra_core::Error::NotFound { .. })
    ));
}

#[test]
fn import_rules_are_enforced_by_the_aggregate() {
    let created = ProfileEvent::ProfileCreated(fintra_twin::ProfileInfo {
        profile_id: "u".into(),
        base_currency: Asset::GBP,
        created_at: chrono::DateTime::UNIX_EPOCH,
    });
    let stray = txn("t", "ghost", d(2024, 1, 1), "X", -1);
    AggregateSpec::<Profile>::given([created.clone()])
        .when(ProfileCommand::Import {
            import_id: uuid::Uuid::nil(),
            source: Source::Csv,
            accounts: vec![],
            transactions: vec![stray],
            anchors: Default::default(),
        })
        .then_error(ProfileRejection::UnknownAccount {
            transaction_id: "csv:t".into(),
            account_id: "csv:ghost".into(),
        });
    let mut euro = txn("e", "cur", d(2024, 1, 1), "X", -1);
    euro.currency = Asset::EUR;
    AggregateSpec::<Profile>::given([created.clone()])
        .when(ProfileCommand::Import {
            import_id: uuid::Uuid::nil(),
            source: Source::Csv,
            accounts: vec![account("cur", AccountType::Checking, 0)],
            transactions: vec![euro],
            anchors: Default::default(),
        })
        .then_error(ProfileRejection::CurrencyMismatch { transaction_id: "csv:e".into() });
    let future = ManualAsset {
        asset_id: "a".into(),
        asset_type: "ART".into(),
        name: "Painting".into(),
        currency: Asset::GBP,
        value_minor: 1,
        valuation_date: d(2030, 1, 1),
        attributes: Default::default(),
    };
    AggregateSpec::<Profile>::given([created])
        .when(ProfileCommand::ValueManualAsset(future))
        .then_error(ProfileRejection::InvalidManualAsset {
            asset_id: "a".into(),
            reason: "the valuation date is in the future",
        });
}

#[tokio::test]
async fn a_repeated_valuation_is_a_no_op_and_the_latest_date_wins() {
    let twin = Twin::new(d(2025, 6, 1)).await;
    let valued = |value_minor, valuation_date| ManualAsset {
        asset_id: "flat".into(),
        asset_type: "REAL_ESTATE".into(),
        name: "Flat".into(),
        currency: Asset::GBP,
        value_minor,
        valuation_date,
        attributes: Default::default(),
    };
    for _ in 0..2 {
        twin.run(ProfileCommand::ValueManualAsset(valued(100_000_00, d(2024, 1, 1)))).await;
        twin.run(ProfileCommand::ValueManualAsset(valued(120_000_00, d(2025, 1, 1)))).await;
    }
    let version = twin.repository.store().stream_version(&twin.stream).await.unwrap();
    assert_eq!(version.get(), 3, "created + two valuations, the repeats appended nothing");
    let profile = twin.profile().await;
    assert_eq!(profile.manual_assets().next().unwrap().value_minor, 120_000_00);
    let then = fintra_twin::as_of(&twin.repository, &twin.stream, d(2024, 6, 1)).await.unwrap();
    assert_eq!(
        then.manual_assets().next().unwrap().value_minor,
        100_000_00,
        "revaluations feed history"
    );
}

#[tokio::test]
async fn the_balance_sheet_on_a_day_equals_time_travel_to_that_day() {
    let today = d(2024, 6, 28);
    let twin = Twin::new(today).await;
    let (accounts, mut txns) = household();
    txns.push(txn("late", "loan", d(2024, 2, 10), "LOAN DRAWDOWN", -1_000_00));
    twin.import(accounts, txns).await;
    for (value, date) in [(100_000_00, d(2024, 1, 15)), (110_000_00, d(2024, 4, 1))] {
        let asset = ManualAsset {
            asset_id: "flat".into(),
            asset_type: "REAL_ESTATE".into(),
            name: "Flat".into(),
            currency: Asset::GBP,
            value_minor: value,
            valuation_date: date,
            attributes: Default::default(),
        };
        twin.run(ProfileCommand::ValueManualAsset(asset)).await;
    }
    twin.run(ProfileCommand::CorrectTransaction {
        transaction_id: "csv:fun3".into(),
        reason: "refunded".into(),
    })
    .await;
    let now = twin.profile().await;
    for day in
        [d(2023, 12, 31), d(2024, 1, 1), d(2024, 1, 20), d(2024, 3, 15), d(2024, 4, 1), today]
    {
        let travelled = fintra_twin::as_of(&twin.repository, &twin.stream, day).await.unwrap();
        assert_eq!(
            fintra_twin::balance_sheet_on(&now, day),
            fintra_twin::balance_sheet(&travelled),
            "{day}"
        );
    }
    let spend = fintra_twin::spend_by_category(&now, d(2024, 3, 1));
    assert_eq!(spend["Housing > Rent"], 1_500_00);
    assert_eq!(spend["Groceries > Supermarket"], 150_00);
    assert!(
        !spend.contains_key("Entertainment > Cinema Theatre"),
        "the corrected cinema visit is gone"
    );
}

fn brain_again_for_test() -> Enrichment {
    categorised("Groceries > Convenience", "BRAIN:merchant_truth")
}

/// An automatic categorisation with a given category, source and confidence.
fn categorised(category: &str, source: &str) -> Enrichment {
    let mut lineage = Lineage::new(source, chrono::DateTime::UNIX_EPOCH);
    lineage.confidence = Some(fintra_twin::fos::Confidence::new(0.9));
    Enrichment {
        merchant_name: Some("Tesco".into()),
        category: category.into(),
        recurrence: None,
        lineage,
    }
}

#[tokio::test]
async fn categorisations_are_recorded_once_and_a_persons_choice_outranks_the_brain() {
    let twin = Twin::new(d(2024, 7, 1)).await;
    let (accounts, txns) = household();
    twin.import(accounts, txns).await;
    let id = "csv:gro1a".to_owned();
    let brain = categorised("Groceries > Supermarket", "BRAIN:merchant_truth");
    let command = ProfileCommand::Categorise { changes: vec![(id.clone(), brain.clone())] };
    let profile = twin.profile().await;
    let ctx_now = Utc.from_utc_datetime(&d(2024, 7, 1).and_hms_opt(12, 0, 0).unwrap());
    let ids = fintra_core::SequentialIdGenerator::default();
    let ctx = fintra_core::DecideContext::new(ctx_now, &ids);
    let events = fintra_core::Aggregate::decide(&profile, &command, &ctx).unwrap();
    let [ProfileEvent::TransactionCategorised { old_category, new_category, confidence, .. }] =
        events.as_slice()
    else {
        panic!("one TransactionCategorised expected, got {events:?}")
    };
    assert_eq!(old_category.as_deref(), Some("Groceries > Supermarket"));
    assert_eq!(new_category, "Groceries > Supermarket");
    assert_eq!(confidence.map(|c| c.basis_points()), Some(9_000));
    twin.run(command.clone()).await;
    let after = twin.profile().await;
    assert_eq!(
        after.transaction(&id).unwrap().transaction.enrichment.as_ref(),
        Some(&brain),
        "the twin holds the new enrichment"
    );
    let again = fintra_core::Aggregate::decide(&after, &command, &ctx).unwrap();
    assert!(again.is_empty(), "the same categorisation twice records nothing: {again:?}");

    // A person's correction wins, and the Brain cannot undo it, nor a provider's amendment.
    let user = categorised("Shopping > Other", fintra_twin::fos::USER_SOURCE);
    twin.run(ProfileCommand::Categorise { changes: vec![(id.clone(), user.clone())] }).await;
    let brain_again = categorised("Groceries > Convenience", "BRAIN:merchant_truth");
    let profile = twin.profile().await;
    let ignored = fintra_core::Aggregate::decide(
        &profile,
        &ProfileCommand::Categorise { changes: vec![(id.clone(), brain_again)] },
        &ctx,
    )
    .unwrap();
    assert!(ignored.is_empty(), "the Brain does not overwrite a person's category");
    let mut amended = profile.transaction(&id).unwrap().transaction.clone();
    amended.description = "TESCO STORES 3021 LONDON".into();
    amended.enrichment = Some(enrichment("TESCO STORES 3021", -100_00));
    twin.run(ProfileCommand::AmendTransaction {
        transaction: Box::new(amended),
        reason: "modified by the provider".into(),
    })
    .await;
    let kept = twin.profile().await;
    assert_eq!(kept.transaction(&id).unwrap().transaction.enrichment.as_ref(), Some(&user));
    let spend = fintra_twin::spend_by_category(&kept, d(2024, 1, 1));
    assert_eq!(spend["Shopping > Other"], 100_00, "the engines read the new category");

    // Unknown ids and empty categories are refused; the whole command records nothing.
    let refused = fintra_core::Aggregate::decide(
        &kept,
        &ProfileCommand::Categorise { changes: vec![("csv:nope".into(), user.clone())] },
        &ctx,
    );
    assert_eq!(refused, Err(ProfileRejection::UnknownTransaction("csv:nope".into())));
    let empty = categorised(" ", "BRAIN:keywords");
    let refused = fintra_core::Aggregate::decide(
        &kept,
        &ProfileCommand::Categorise { changes: vec![(id.clone(), empty)] },
        &ctx,
    );
    assert_eq!(
        refused,
        Err(ProfileRejection::InvalidCategory {
            transaction_id: id.clone(),
            reason: "the category is empty"
        })
    );
    // Two entries for one transaction in one command: the later is judged against the earlier,
    // so the Brain's cannot slip past the person's.
    let both = ProfileCommand::Categorise {
        changes: vec![(id.clone(), user.clone()), (id.clone(), brain_again_for_test())],
    };
    let decided = fintra_core::Aggregate::decide(&after, &both, &ctx).unwrap();
    assert_eq!(decided.len(), 1, "only the person's is recorded: {decided:?}");
}
