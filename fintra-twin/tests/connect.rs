//! Connect: the normalisation and dedup rules of spec §4.2–4.3, malformed input, staged
//! imports and provider routing (§4.20).

#![allow(clippy::unwrap_used, reason = "test helpers fail the test on a setup error")]

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use chrono::{DateTime, NaiveDate, TimeZone, Utc};
use fintra_core::{
    Asset, EventMetadata, EventStore, InMemoryEventStore, ReadStreamOptions, Repository,
};
use fintra_twin::connect::csv::{CsvAccount, CsvMapping, normalise};
use fintra_twin::connect::{
    BadRecordPolicy, ConnectError, Provider, ProviderError, ProviderRouter, plaid, stage, yapily,
};
use fintra_twin::fos::{
    AccountClass, AccountType, Source, TransactionStatus, UnifiedAccount, UnifiedTransaction,
};
use fintra_twin::{Profile, ProfileCommand};
use proptest::prelude::*;

const STRICT: BadRecordPolicy = BadRecordPolicy::FailDocument;

fn now() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2025, 1, 1, 0, 0, 0).unwrap()
}

const PLAID_ACCOUNTS: &str = r#"{"accounts": [
  {"account_id": "chk", "name": "Current", "type": "depository", "subtype": "checking",
   "balances": {"current": 1200.50, "available": 1100.00, "iso_currency_code": "GBP"}},
  {"account_id": "cc", "name": "Visa", "type": "credit", "subtype": "credit card",
   "balances": {"current": 310.25, "available": null, "iso_currency_code": "GBP"}},
  {"account_id": "ln", "name": "Car loan", "type": "loan", "subtype": "auto",
   "balances": {"current": 9000, "iso_currency_code": "GBP"}}
]}"#;

fn plaid_txn(
    id: &str,
    account: &str,
    amount: &str,
    pending: bool,
    pending_id: Option<&str>,
) -> String {
    let pending_id = pending_id.map_or("null".to_owned(), |p| format!("\"{p}\""));
    format!(
        r#"{{"transaction_id": "{id}", "account_id": "{account}", "amount": {amount}, "iso_currency_code": "GBP", "date": "2024-05-02", "name": "SQ *STARBUCKS #1123", "merchant_name": null, "pending": {pending}, "pending_transaction_id": {pending_id}}}"#
    )
}

fn plaid_doc(transactions: &[String]) -> String {
    format!(r#"{{"accounts": [], "transactions": [{}]}}"#, transactions.join(","))
}

fn accounts() -> Vec<UnifiedAccount> {
    plaid::accounts(PLAID_ACCOUNTS.as_bytes(), Some("ins_1"), STRICT)
        .unwrap()
        .into_complete()
        .unwrap()
}

#[test]
fn plaid_accounts_map_types_currency_and_invert_liabilities() {
    let accounts = accounts();
    let by_id = |id: &str| accounts.iter().find(|a| a.provider_account_id == id).unwrap();
    let checking = by_id("chk");
    assert_eq!(
        (checking.account_type, checking.class),
        (AccountType::Checking, AccountClass::Asset)
    );
    assert_eq!(
        (checking.balance_minor, checking.available_balance_minor),
        (Some(120_050), Some(110_000))
    );
    assert_eq!(checking.currency, Asset::GBP, "iso_currency_code → currency");
    assert_eq!(checking.account_id, "plaid:chk");
    let card = by_id("cc");
    assert_eq!((card.account_type, card.balance_minor), (AccountType::CreditCard, Some(-31_025)));
    let loan = by_id("ln");
    assert_eq!(
        (loan.account_type, loan.class, loan.balance_minor),
        (AccountType::Loan, AccountClass::Liability, Some(-900_000))
    );
}

#[test]
fn plaid_transactions_are_signed_negative_for_outflows_and_link_pending() {
    let doc = plaid_doc(&[
        plaid_txn("t1", "chk", "4.35", false, None),
        plaid_txn("t2", "chk", "-2500.00", false, None),
        plaid_txn("p3", "cc", "12.00", true, None),
        plaid_txn("t3", "cc", "12.00", false, Some("p3")),
    ]);
    let txns = plaid::transactions(doc.as_bytes(), &accounts(), now(), STRICT).unwrap().records;
    assert_eq!(txns[0].amount_minor, -435, "Plaid positive = money out = FOS negative");
    assert_eq!(txns[1].amount_minor, 250_000);
    assert_eq!(txns[2].status, TransactionStatus::Pending);
    assert_eq!(txns[3].pending_transaction_id.as_deref(), Some("plaid:p3"));
    assert_eq!(txns[0].provider_transaction_id, "t1");
    let enrichment = txns[0].enrichment.as_ref().unwrap();
    // Connect alone cleans the name and files by direction; the Brain (fintra-ml) categorises.
    assert_eq!(enrichment.merchant_name.as_deref(), Some("Starbucks"));
    assert_eq!(enrichment.lineage.source, fintra_twin::connect::BASIC_LINEAGE);
    assert_eq!(enrichment.category, fintra_twin::connect::UNCATEGORISED_OUT);
}

fn plaid_error(doc: &str) -> ConnectError {
    plaid::transactions(doc.as_bytes(), &accounts(), now(), STRICT).unwrap_err()
}

#[test]
fn malformed_plaid_input_is_a_typed_error_naming_the_record() {
    let good = plaid_txn("t1", "chk", "1.00", false, None);
    let truncated = &plaid_doc(std::slice::from_ref(&good))[..40];
    assert!(
        matches!(plaid_error(truncated), ConnectError::Malformed { record, .. } if record == "document")
    );
    let wrong_type =
        plaid_doc(&[good.clone(), good.replace("\"pending\": false", "\"pending\": \"no\"")]);
    assert!(
        matches!(plaid_error(&wrong_type), ConnectError::Malformed { record, reason } if record == "transactions[1].pending" && !reason.contains("line"))
    );
    let missing = plaid_doc(&[good.replace("\"date\": \"2024-05-02\", ", "")]);
    assert!(
        matches!(plaid_error(&missing), ConnectError::Malformed { record, reason } if record == "transactions[0]" && reason.contains("date"))
    );
    let currency = plaid_doc(&[good.replace("\"GBP\"", "\"XXQ\"")]);
    assert!(
        matches!(plaid_error(&currency), ConnectError::UnknownCurrency { code, .. } if code == "XXQ")
    );
    let date = plaid_doc(&[good.replace("2024-05-02", "2023-02-30")]);
    assert!(
        matches!(plaid_error(&date), ConnectError::InvalidDate { record, .. } if record == "transactions[0]")
    );
    let overflow = plaid_doc(&[good.replace("1.00", "1e40")]);
    assert!(matches!(plaid_error(&overflow), ConnectError::InvalidAmount { .. }));
    let precision = plaid_doc(&[good.replace("1.00", "1.005")]);
    assert!(matches!(plaid_error(&precision), ConnectError::InvalidAmount { .. }));
    let account = plaid_doc(&[good.replace("\"chk\"", "\"nope\"")]);
    assert!(matches!(plaid_error(&account), ConnectError::UnknownAccount { .. }));
}

const YAPILY_ACCOUNTS: &str = r#"{"meta": {}, "data": [
  {"id": "a1", "accountType": "CURRENT", "nickname": "Main", "balance": 50.5, "currency": "EUR"},
  {"id": "a2", "accountType": "CREDIT_CARD", "nickname": "Card", "balance": "75.00", "currency": "EUR"}
]}"#;

#[test]
fn yapily_accounts_and_transactions_normalise() {
    let accounts = yapily::accounts(YAPILY_ACCOUNTS.as_bytes(), None, STRICT).unwrap().records;
    assert_eq!(accounts[0].balance_minor, Some(5_050));
    assert_eq!(
        (accounts[1].account_type, accounts[1].balance_minor),
        (AccountType::CreditCard, Some(-7_500))
    );
    let body = r#"{"data": [
      {"id": "y1", "bookingDateTime": "2024-03-01T10:00:00Z", "status": "BOOKED", "amount": -12.5, "currency": "EUR",
       "description": "AMZN MKTPL WA", "balance": {"type": "CLOSING_AVAILABLE", "balanceAmount": {"amount": 38.0, "currency": "EUR"}}},
      {"id": "y2", "date": "2024-03-02", "status": "PENDING", "amount": "3.10", "currency": "EUR", "description": "REFUND"}
    ]}"#;
    let txns = yapily::transactions(body.as_bytes(), &accounts[0], now(), STRICT).unwrap().records;
    assert_eq!((txns[0].amount_minor, txns[0].balance_after_minor), (-1_250, Some(3_800)));
    assert_eq!(txns[0].date, NaiveDate::from_ymd_opt(2024, 3, 1).unwrap());
    assert_eq!(txns[1].status, TransactionStatus::Pending);
    let bad = body.replace("\"BOOKED\"", "\"SETTLED\"");
    assert!(matches!(
        yapily::transactions(bad.as_bytes(), &accounts[0], now(), STRICT),
        Err(ConnectError::Invalid { record, .. }) if record == "data[0]"
    ));
}

fn csv_account(account_type: AccountType) -> CsvAccount {
    CsvAccount {
        provider_account_id: "acct-1".into(),
        name: "Old current".into(),
        account_type,
        currency: Asset::GBP,
        institution_id: None,
    }
}

fn csv(body: &str, mapping: &CsvMapping) -> fintra_twin::connect::csv::CsvImport {
    normalise(body.as_bytes(), mapping, &csv_account(AccountType::Checking), now(), STRICT).unwrap()
}

#[test]
fn both_generic_csv_layouts_read_their_rows() {
    let signed = "Date,Description,Amount,Balance\n02/01/2024,TESCO STORES 3021,-23.10,976.90\n01/01/2024,SALARY ACME,1000.00,1000.00\n";
    let import = csv(signed, &CsvMapping::signed_amount_preset());
    let txns = import.transactions.records;
    assert_eq!(import.account.balance_minor, Some(97_690), "newest row's running balance");
    assert_eq!(txns[0].amount_minor, -2_310);
    assert_eq!(
        txns[0].enrichment.as_ref().unwrap().category,
        fintra_twin::connect::UNCATEGORISED_OUT
    );
    assert_eq!(
        txns[1].enrichment.as_ref().unwrap().category,
        fintra_twin::connect::UNCATEGORISED_IN
    );
    let out_in = "Transaction Date;Transaction Description;Money Out;Money In;Balance\n2024-01-01;RENT ;850.00;;150.00\n2024-01-03;REFUND SHOP;;20.00;170.00\n";
    let import = csv(out_in, &CsvMapping::money_in_out_preset());
    let txns = &import.transactions.records;
    assert_eq!((txns[0].amount_minor, txns[1].amount_minor), (-85_000, 2_000));
    assert_eq!(import.account.balance_minor, Some(17_000));
    // Same export twice: the same ids (so re-import is a no-op); identical rows stay distinct.
    let twice = "Date,Description,Amount,Balance\n01/01/2024,COFFEE,-3.00,10.00\n01/01/2024,COFFEE,-3.00,7.00\n";
    let a = csv(twice, &CsvMapping::signed_amount_preset());
    let b = csv(twice, &CsvMapping::signed_amount_preset());
    assert_eq!(a, b);
    assert_ne!(a.transactions.records[0].transaction_id, a.transactions.records[1].transaction_id);
}

#[test]
fn formula_characters_are_text_on_import_and_neutralised_on_export() {
    let body = "Date,Description,Amount,Balance\n01/01/2024,+44 Telecom Ltd,-12.00,88.00\n02/01/2024,-REVERSAL- Amazon,5.00,93.00\n03/01/2024,\"=HYPERLINK(\"\"http://x\"\")\",-1.00,92.00\n04/01/2024,@SUM(A1),-1.00,91.00\n";
    let import = csv(body, &CsvMapping::signed_amount_preset());
    let descriptions: Vec<_> =
        import.transactions.records.iter().map(|t| t.description.as_str()).collect();
    assert_eq!(
        descriptions,
        ["+44 Telecom Ltd", "-REVERSAL- Amazon", "=HYPERLINK(\"http://x\")", "@SUM(A1)"]
    );
    let exported = fintra_twin::connect::csv::export(&import.transactions.records);
    for line in exported.lines().skip(1) {
        let description = line.split(',').nth(3).unwrap().trim_start_matches('"');
        assert!(description.starts_with('\''), "{line}");
    }
    assert!(exported.contains(",-12.00,GBP,"), "amounts stay numbers: {exported}");
}

#[test]
fn a_bad_csv_row_is_reported_with_its_line_under_every_policy() {
    let preset = CsvMapping::signed_amount_preset();
    let account = csv_account(AccountType::Checking);
    let body = "Date,Description,Amount,Balance\n01/01/2024,OK,-1.00,1.00\n02/01/2024,SHORT,-1.00\n31/02/2024,X,-1.00,1.00\n03/01/2024,X,abc,1.00\n04/01/2024,LAST,-2.00,-1.00\n";
    let run = |policy| normalise(body.as_bytes(), &preset, &account, now(), policy);
    let strict = run(STRICT).unwrap_err();
    assert!(
        matches!(&strict, ConnectError::ColumnCount { record, expected: 4, found: 3 } if record == "line 3"),
        "{strict}"
    );
    let skipped = run(BadRecordPolicy::Skip).unwrap();
    let kept: Vec<_> =
        skipped.transactions.records.iter().map(|t| t.description.as_str()).collect();
    assert_eq!(kept, ["OK", "LAST"], "the rest of the file survives");
    let lines: Vec<_> = skipped.transactions.rejected.iter().map(|r| r.record.as_str()).collect();
    assert_eq!(lines, ["line 3", "line 4", "line 5"]);
    assert!(matches!(skipped.transactions.rejected[1].error, ConnectError::InvalidDate { .. }));
    assert!(matches!(skipped.transactions.rejected[2].error, ConnectError::InvalidAmount { .. }));
    assert!(
        skipped.transactions.rejected.iter().all(|r| r.raw.is_none()),
        "Skip keeps no raw text"
    );
    let quarantined = run(BadRecordPolicy::Quarantine).unwrap();
    assert_eq!(
        quarantined.transactions.rejected[1].raw.as_deref(),
        Some("31/02/2024,X,-1.00,1.00")
    );
    let missing_column = normalise(b"Date,Memo,Amount\n", &preset, &account, now(), STRICT);
    assert!(matches!(missing_column, Err(ConnectError::Malformed { .. })));
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 2_000, ..ProptestConfig::default() })]

    /// Random bytes never panic a normaliser: they are parsed or refused with a typed error.
    #[test]
    fn random_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..512)) {
        let accounts = accounts();
        for policy in [BadRecordPolicy::Skip, BadRecordPolicy::Quarantine, STRICT] {
            let _ = plaid::accounts(&bytes, None, policy);
            let _ = plaid::transactions(&bytes, &accounts, now(), policy);
            let _ = plaid::sync(&bytes, &accounts, now(), policy);
            let _ = plaid::liabilities(&bytes, &accounts, policy);
            let _ = plaid::holdings(&bytes, policy);
            let _ = plaid::investment_transactions(&bytes, policy);
            let _ = yapily::accounts(&bytes, None, policy);
            let _ = yapily::transactions(&bytes, &accounts[0], now(), policy);
            let _ = normalise(&bytes, &CsvMapping::signed_amount_preset(), &csv_account(AccountType::Savings), now(), policy);
            let _ = normalise(&bytes, &CsvMapping::money_in_out_preset(), &csv_account(AccountType::Loan), now(), policy);
            let _ = fintra_twin::connect::csv::normalise_detected(&bytes, &csv_account(AccountType::Checking), now(), policy);
        }
    }

    /// Mutations of a valid document (the realistic kind of garbage) never panic either.
    #[test]
    fn mutated_documents_never_panic(cut in 0usize..400, byte in any::<u8>(), at in 0usize..400) {
        let mut doc = plaid_doc(&[plaid_txn("t1", "chk", "4.35", false, None), plaid_txn("t2", "cc", "1e3", true, None)]).into_bytes();
        if at < doc.len() { doc[at] = byte; }
        doc.truncate(cut.max(1));
        let _ = plaid::transactions(&doc, &accounts(), now(), BadRecordPolicy::Skip);
        let mut csv = b"Date,Description,Amount,Balance\n01/01/2024,X,-1.00,1.00\n".to_vec();
        if at < csv.len() { csv[at] = byte; }
        let _ = normalise(&csv, &CsvMapping::signed_amount_preset(), &csv_account(AccountType::Checking), now(), BadRecordPolicy::Skip);
    }
}

async fn twin() -> (Repository<Profile, InMemoryEventStore>, fintra_core::StreamId) {
    let repository = Repository::<Profile, _>::new(InMemoryEventStore::new());
    let stream = repository.stream_id(uuid::Uuid::from_u128(1)).unwrap();
    let create = ProfileCommand::Create { profile_id: "usr_1".into(), base_currency: Asset::GBP };
    repository.execute(&stream, &create, &EventMetadata::default()).await.unwrap();
    (repository, stream)
}

fn sample() -> (Vec<UnifiedAccount>, Vec<UnifiedTransaction>) {
    let doc = plaid_doc(&[
        plaid_txn("t1", "chk", "4.35", false, None),
        plaid_txn("t1", "chk", "4.35", false, None), // duplicate delivery
        plaid_txn("p2", "cc", "12.00", true, None),
        plaid_txn("t2", "cc", "12.00", false, Some("p2")),
        plaid_txn("p9", "cc", "7.00", true, None), // still pending
    ]);
    let accounts = accounts();
    let txns = plaid::transactions(doc.as_bytes(), &accounts, now(), STRICT).unwrap().records;
    (accounts, txns)
}

#[tokio::test]
async fn a_staged_import_is_reviewed_then_approved_and_reimporting_is_a_no_op() {
    let (repository, stream) = twin().await;
    let (accounts, txns) = sample();
    let current = repository.load(&stream).await.unwrap().state;
    let staged =
        stage(&current, uuid::Uuid::from_u128(5), Source::Plaid, accounts.clone(), txns.clone());
    assert_eq!(staged.report.new_accounts, 3);
    assert_eq!(staged.report.new_transactions, 3, "t1, t2 and the open hold p9");
    assert_eq!(staged.report.duplicates_in_input, 1);
    assert_eq!(staged.report.pending_already_posted, 1, "p2 is replaced by t2");
    // Staging changed nothing.
    assert_eq!(repository.store().stream_version(&stream).await.unwrap().get(), 1);
    let receipt =
        staged.approve(&repository, &stream, &EventMetadata::default(), |_, _| {}).await.unwrap();
    let first = receipt.first_version.unwrap();
    let recorded = repository
        .store()
        .read_stream(&stream, ReadStreamOptions::from_version(first).limit(1))
        .await
        .unwrap();
    assert_eq!(receipt.source_event_id, Some(recorded[0].event_id));
    assert_eq!(recorded[0].event_type, "AccountLinked");
    let profile = repository.load(&stream).await.unwrap().state;
    let card = profile.account("plaid:cc").unwrap();
    assert_eq!((card.balance_minor, card.pending_minor), (-31_025, -700));
    assert_eq!(card.opening_balance_minor, -31_025 + 1_200, "anchored before the posted purchase");
    // Re-import: nothing new, nothing appended.
    let again = stage(&profile, uuid::Uuid::from_u128(6), Source::Plaid, accounts, txns);
    assert_eq!(
        (again.report.new_transactions, again.report.already_imported),
        (0, 4),
        "both copies of t1"
    );
    let receipt =
        again.approve(&repository, &stream, &EventMetadata::default(), |_, _| {}).await.unwrap();
    assert_eq!((receipt.first_version, receipt.source_event_id), (None, None));
}

#[tokio::test]
async fn a_pending_transaction_imported_earlier_is_replaced_by_its_posting() {
    let (repository, stream) = twin().await;
    let accounts = accounts();
    let hold = plaid::transactions(
        plaid_doc(&[plaid_txn("p1", "cc", "20.00", true, None)]).as_bytes(),
        &accounts,
        now(),
        STRICT,
    )
    .unwrap()
    .records;
    let first =
        stage(&Profile::default(), uuid::Uuid::from_u128(1), Source::Plaid, accounts.clone(), hold);
    first.approve(&repository, &stream, &EventMetadata::default(), |_, _| {}).await.unwrap();
    let before = repository.load(&stream).await.unwrap().state;
    assert_eq!(before.account("plaid:cc").unwrap().pending_minor, -2_000);
    let posted = plaid::transactions(
        plaid_doc(&[plaid_txn("t1", "cc", "18.50", false, Some("p1"))]).as_bytes(),
        &accounts,
        now(),
        STRICT,
    )
    .unwrap()
    .records;
    let second = stage(&before, uuid::Uuid::from_u128(2), Source::Plaid, accounts, posted);
    assert_eq!(second.report.pending_replaced, 1);
    second.approve(&repository, &stream, &EventMetadata::default(), |_, _| {}).await.unwrap();
    let after = repository.load(&stream).await.unwrap().state;
    let card = after.account("plaid:cc").unwrap();
    assert_eq!(card.pending_minor, 0);
    assert_eq!(card.balance_minor - before.account("plaid:cc").unwrap().balance_minor, -1_850);
    assert_eq!(after.transaction("plaid:p1").unwrap().replaced_by.as_deref(), Some("plaid:t1"));
}

struct FakeProvider {
    name: &'static str,
    delay: Duration,
    fail: bool,
}

#[async_trait]
impl Provider for FakeProvider {
    fn name(&self) -> &str {
        self.name
    }
    async fn accounts(&self, _: &str) -> Result<Vec<UnifiedAccount>, ProviderError> {
        Ok(Vec::new())
    }
    async fn transactions(
        &self,
        _: &str,
        _: NaiveDate,
        _: NaiveDate,
    ) -> Result<Vec<UnifiedTransaction>, ProviderError> {
        tokio::time::sleep(self.delay).await;
        if self.fail { Err(ProviderError::new(self.name, "bank down")) } else { Ok(Vec::new()) }
    }
}

#[test]
fn the_router_prefers_the_healthier_provider_as_in_the_spec_example() {
    let providers: Vec<Arc<dyn Provider>> = vec![
        Arc::new(FakeProvider { name: "A", delay: Duration::ZERO, fail: false }),
        Arc::new(FakeProvider { name: "B", delay: Duration::ZERO, fail: false }),
    ];
    let router = ProviderRouter::new(providers);
    // A: 5 s latency, 10 % errors; B: 2 s, no errors ⇒ B.
    for k in 0..10 {
        router.record("ins_chase", "A", Duration::from_secs(5), k != 0);
        router.record("ins_chase", "B", Duration::from_secs(2), true);
    }
    assert_eq!(router.ranked("ins_chase"), vec!["B".to_owned(), "A".to_owned()]);
    assert!(router.health("ins_chase", "A").error_rate > 0.0);
    // Another institution has no telemetry yet: declaration order.
    assert_eq!(router.ranked("ins_other")[0], "A");
}

#[tokio::test]
async fn the_router_fails_over_and_learns_from_failures() {
    let providers: Vec<Arc<dyn Provider>> = vec![
        Arc::new(FakeProvider { name: "down", delay: Duration::ZERO, fail: true }),
        Arc::new(FakeProvider { name: "up", delay: Duration::from_millis(5), fail: false }),
    ];
    let router = ProviderRouter::new(providers);
    let day = NaiveDate::from_ymd_opt(2024, 1, 1).unwrap();
    let (served, _) = router.transactions("ins_1", day, day).await.unwrap();
    assert_eq!(served, "up", "failed over without the caller noticing");
    assert_eq!(router.ranked("ins_1")[0], "up", "the failure moved the broken provider down");
    let only_down = ProviderRouter::new(vec![Arc::new(FakeProvider {
        name: "down",
        delay: Duration::ZERO,
        fail: true,
    })]);
    let errors = only_down.transactions("ins_1", day, day).await.unwrap_err();
    assert_eq!(errors.len(), 1);
}

#[tokio::test]
async fn a_large_import_is_split_to_fit_appends_and_events() {
    let (repository, stream) = twin().await;
    let accounts = accounts();
    // 12,000 transactions on three days: more than one command holds, more than one event a day.
    let body: Vec<String> = (0..12_000)
        .map(|k| {
            plaid_txn(&format!("t{k}"), "chk", "1.00", false, None)
                .replace("2024-05-02", &format!("2024-05-0{}", 1 + k % 3))
        })
        .collect();
    let txns =
        plaid::transactions(plaid_doc(&body).as_bytes(), &accounts, now(), STRICT).unwrap().records;
    let staged =
        stage(&Profile::default(), uuid::Uuid::from_u128(9), Source::Plaid, accounts, txns);
    let mut calls = 0;
    let receipt = staged
        .approve(&repository, &stream, &EventMetadata::default(), |_, _| calls += 1)
        .await
        .unwrap();
    assert_eq!(receipt.commands, 3, "5,000 transactions per command");
    assert_eq!(calls, 3);
    let profile = repository.load(&stream).await.unwrap().state;
    assert_eq!(profile.transactions().count(), 12_000);
    assert_eq!(
        profile.account("plaid:chk").unwrap().balance_minor,
        120_050,
        "anchored over all commands"
    );
    let events = repository.store().stream_version(&stream).await.unwrap().get();
    // 1 created + 3 accounts + 12,000 / 300 imported events, at least.
    assert!(events >= 44, "{events} events");
}
