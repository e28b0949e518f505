//! Connect against documents in the providers' own shapes (`tests/data/`, described in each
//! folder's README): every fixture family is read, and each test counts what the document
//! imported and what it reported, so nothing is silently lost.

#![allow(clippy::unwrap_used, reason = "test helpers fail the test on a setup error")]

use std::path::PathBuf;

use chrono::{DateTime, TimeZone, Utc};
use fintra_core::{Asset, AssetKind, EventMetadata, InMemoryEventStore, Repository};
use fintra_twin::connect::csv::{CsvAccount, CsvImport, normalise_detected};
use fintra_twin::connect::{BadRecordPolicy, ConnectError, plaid, stage, stage_sync, yapily};
use fintra_twin::fos::{AccountClass, AccountType, Source, TransactionStatus, UnifiedAccount};
use fintra_twin::{Profile, ProfileCommand};
use rust_decimal::Decimal;

const SKIP: BadRecordPolicy = BadRecordPolicy::Skip;

fn now() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2025, 2, 1, 0, 0, 0).unwrap()
}

fn data(path: &str) -> Vec<u8> {
    let file = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/data").join(path);
    std::fs::read(&file).unwrap_or_else(|e| panic!("{}: {e}", file.display()))
}

fn decimal(text: &str) -> Decimal {
    text.parse().unwrap()
}

fn by_provider_id<'a>(accounts: &'a [UnifiedAccount], id: &str) -> &'a UnifiedAccount {
    accounts.iter().find(|a| a.provider_account_id == id).unwrap()
}

const CHECKING: &str = "56XYb9oOMVuXNGzG8NUistXFat0SkTF7WNot3";
const SAVINGS: &str = "ZS05n4BezudJSAV8sh6knv05ki8x7Rf1pnwhq";
const VISA: &str = "1gPM9MG0SdI7PXxtuzewHgBum10F6edIahhTF";
const PLAN_401K: &str = "VazBoOYOfusOfg0JRt066pxwTXq4YlkczMsQH";
const CRYPTO: &str = "tPR7YihF9OYQavE8tu5vCFdMYGYFPzXonZM78";

#[test]
fn plaid_accounts_keep_full_precision_unknown_balances_and_unofficial_currencies() {
    for (file, exact_401k, btc) in [
        ("plaid/accounts_get.json", "48263.1719", 128_861_876),
        ("plaid/accounts_balance_get.json", "48391.0457", 129_407_125),
    ] {
        let read = plaid::accounts(&data(file), Some("ins_204417"), SKIP).unwrap();
        assert_eq!((read.records.len(), read.rejected.len()), (11, 0), "{file}");
        let accounts = &read.records;
        let k401 = by_provider_id(accounts, PLAN_401K);
        assert_eq!(k401.balance_exact, Some(decimal(exact_401k)), "{file}: kept exactly");
        let rounded = decimal(exact_401k).round_dp(2).mantissa();
        assert_eq!(k401.balance_minor, Some(i128::from(i64::try_from(rounded).unwrap())));
        let savings = by_provider_id(accounts, SAVINGS);
        assert_eq!(savings.balance_minor, None, "{file}: a null current balance is unknown");
        assert!(savings.available_balance_minor.is_some(), "{file}: available is still known");
        let crypto = by_provider_id(accounts, CRYPTO);
        assert_eq!((crypto.currency.code(), crypto.currency.scale()), ("BTC", 8));
        assert_eq!(crypto.currency.kind(), AssetKind::Custom);
        assert_eq!(crypto.balance_minor, Some(btc));
        let visa = by_provider_id(accounts, VISA);
        assert_eq!(visa.class, AccountClass::Liability);
        assert!(visa.balance_minor.is_some_and(|b| b < 0), "liabilities are stored negative");
        let types: Vec<_> = accounts.iter().map(|a| a.account_type).collect();
        assert!(!types.contains(&AccountType::Unknown), "{types:?}");
    }
}

fn plaid_accounts() -> Vec<UnifiedAccount> {
    plaid::accounts(&data("plaid/accounts_get.json"), None, SKIP).unwrap().into_complete().unwrap()
}

#[test]
fn plaid_transactions_get_imports_all_but_the_one_it_cannot_value_and_says_why() {
    let get = data("plaid/transactions_get.json");
    let read = plaid::transactions(&get, &plaid_accounts(), now(), SKIP).unwrap();
    assert_eq!(read.records.len() + read.rejected.len(), 28, "every record accounted for");
    // The EUR purchase on the USD card: Plaid sends no amount in the account's currency, so
    // it cannot move a USD balance; it is reported, not guessed.
    assert_eq!(read.rejected.len(), 1, "{:?}", read.rejected);
    let rejected = &read.rejected[0];
    assert!(rejected.record.starts_with("transactions["), "{}", rejected.record);
    assert!(matches!(rejected.error, ConnectError::Invalid { .. }), "{}", rejected.error);
    let txns = &read.records;
    assert_eq!(txns.iter().filter(|t| t.status == TransactionStatus::Pending).count(), 4);
    assert!(txns.iter().all(|t| t.provider_category.is_some()), "personal_finance_category kept");
    let btc: Vec<_> = txns.iter().filter(|t| t.currency.code() == "BTC").collect();
    assert_eq!(btc.len(), 2);
    assert!(btc.iter().any(|t| t.amount_minor == 3_501_877), "-0.03501877 BTC in = +3501877 sat");
    let posted = txns
        .iter()
        .find(|t| t.provider_transaction_id == "22OWOHbihq7iKftG8Q7VLn8n8UgB0ia4fEfIv")
        .unwrap();
    assert_eq!(
        posted.pending_transaction_id.as_deref(),
        Some("plaid:gKITEhDTSXUoajbXiTCq7r7YQvXxh2PYv77Ja")
    );
    // FailDocument refuses the same document at that record.
    let strict = plaid::transactions(&get, &plaid_accounts(), now(), BadRecordPolicy::FailDocument);
    assert!(matches!(strict, Err(ConnectError::Invalid { .. })));
}

#[test]
fn plaid_sync_pages_carry_added_modified_removed_and_the_cursor() {
    let accounts = plaid_accounts();
    let one =
        plaid::sync(&data("plaid/transactions_sync_page1.json"), &accounts, now(), SKIP).unwrap();
    assert_eq!(one.added.len() + one.rejected.len(), 12, "{:?}", one.rejected);
    assert_eq!(one.rejected.len(), 1, "the GBP purchase on the USD card");
    assert!(one.rejected[0].record.starts_with("added["));
    assert_eq!((one.modified.len(), one.removed.len(), one.has_more), (2, 2, true));
    assert!(!one.next_cursor.is_empty());
    assert_eq!(one.accounts.len(), 6);
    let two =
        plaid::sync(&data("plaid/transactions_sync_page2.json"), &accounts, now(), SKIP).unwrap();
    assert_eq!((two.added.len(), two.modified.len(), two.removed.len()), (4, 0, 1));
    assert_eq!((two.has_more, two.rejected.len()), (false, 0));
    assert_ne!(one.next_cursor, two.next_cursor);
    let not_a_page = plaid::sync(&data("plaid/transactions_get.json"), &accounts, now(), SKIP);
    assert!(matches!(not_a_page, Err(ConnectError::Malformed { .. })), "no cursor, no page");
}

async fn twin() -> (Repository<Profile, InMemoryEventStore>, fintra_core::StreamId) {
    let repository = Repository::<Profile, _>::new(InMemoryEventStore::new());
    let stream = repository.stream_id(uuid::Uuid::from_u128(1)).unwrap();
    let create = ProfileCommand::Create { profile_id: "usr_1".into(), base_currency: Asset::USD };
    repository.execute(&stream, &create, &EventMetadata::default()).await.unwrap();
    (repository, stream)
}

/// Applies one sync page; returns (new transactions, amended, withdrawn).
async fn apply_page(
    repository: &Repository<Profile, InMemoryEventStore>,
    stream: &fintra_core::StreamId,
    page: &plaid::SyncPage,
    import: u128,
) -> (usize, usize, usize) {
    let profile = repository.load(stream).await.unwrap().state;
    let staged = stage_sync(
        &profile,
        uuid::Uuid::from_u128(import),
        Source::Plaid,
        page.accounts.clone(),
        page.added.clone(),
        page.modified.clone(),
        page.removed.clone(),
    );
    let counts = (
        staged.import.report.new_transactions,
        staged.changes.report.amended,
        staged.changes.report.withdrawn,
    );
    staged.approve(repository, stream, &EventMetadata::default()).await.unwrap();
    counts
}

#[tokio::test]
async fn sync_pages_amend_and_withdraw_and_a_second_pass_changes_nothing() {
    let (repository, stream) = twin().await;
    let accounts = plaid_accounts();
    let get =
        plaid::transactions(&data("plaid/transactions_get.json"), &accounts, now(), SKIP).unwrap();
    stage(
        &Profile::default(),
        uuid::Uuid::from_u128(2),
        Source::Plaid,
        accounts.clone(),
        get.records,
    )
    .approve(&repository, &stream, &EventMetadata::default(), |_, _| {})
    .await
    .unwrap();
    let coffee = "plaid:MaRoPcOSu7Evg6qLs2Dta3WfP9ilHYuJbU5jv";
    let before = repository.load(&stream).await.unwrap().state;
    let checking_pending = before.account(&format!("plaid:{CHECKING}")).unwrap().pending_minor;
    let pages: Vec<_> =
        ["plaid/transactions_sync_page1.json", "plaid/transactions_sync_page2.json"]
            .iter()
            .map(|file| plaid::sync(&data(file), &accounts, now(), SKIP).unwrap())
            .collect();
    let first = apply_page(&repository, &stream, &pages[0], 3).await;
    // Of the two removals, the pending Trader Joe's never reached the twin: its posting was in
    // the same /transactions/get response, so staging dropped it. Only Spotify is withdrawn.
    assert_eq!(first, (11, 2, 1), "11 added, 2 amended, 1 withdrawn");
    let second = apply_page(&repository, &stream, &pages[1], 4).await;
    assert_eq!(second, (4, 0, 1));
    let after = repository.load(&stream).await.unwrap().state;
    let amended = after.transaction(coffee).unwrap();
    assert_eq!(amended.transaction.amount_minor, -810, "6.75 → 8.10, still pending");
    let withdrawn = after.transaction("plaid:gYzjraRXLoZKGLyHmy2V6RxE7mYRArq8yUPkK").unwrap();
    assert!(withdrawn.corrected.is_some(), "a removal is a compensating event");
    let checking_after = after.account(&format!("plaid:{CHECKING}")).unwrap();
    assert_ne!(checking_after.pending_minor, checking_pending, "the pending sum moved");
    // The same pages again — as a retried sync would deliver them — record nothing.
    let version = repository.store_version(&stream).await;
    assert_eq!(apply_page(&repository, &stream, &pages[0], 5).await, (0, 0, 0));
    assert_eq!(apply_page(&repository, &stream, &pages[1], 6).await, (0, 0, 0));
    assert_eq!(repository.store_version(&stream).await, version);
}

trait StoreVersion {
    async fn store_version(&self, stream: &fintra_core::StreamId) -> u64;
}

impl StoreVersion for Repository<Profile, InMemoryEventStore> {
    async fn store_version(&self, stream: &fintra_core::StreamId) -> u64 {
        use fintra_core::EventStore;
        self.store().stream_version(stream).await.unwrap().get()
    }
}

#[test]
fn plaid_liabilities_and_investments_map_into_fos() {
    let liabilities = data("plaid/liabilities_get.json");
    let read = plaid::liabilities(&liabilities, &plaid_accounts(), SKIP).unwrap();
    assert_eq!(read.rejected.len(), 0, "{:?}", read.rejected);
    let kinds: Vec<_> = read.records.iter().map(|l| l.kind.as_str()).collect();
    assert_eq!(kinds, ["CREDIT", "CREDIT", "MORTGAGE", "STUDENT"]);
    let mortgage = read.records.iter().find(|l| l.kind == "MORTGAGE").unwrap();
    assert_eq!(mortgage.interest_rate_percent, Some(decimal("6.125")));
    assert_eq!(mortgage.origination_principal_minor, Some(29_200_000));

    let holdings = plaid::holdings(&data("plaid/investments_holdings_get.json"), SKIP).unwrap();
    assert_eq!((holdings.holdings.len(), holdings.securities.len()), (11, 7));
    assert!(holdings.rejected.is_empty(), "{:?}", holdings.rejected);
    let btc = holdings.holdings.iter().find(|h| h.quantity == decimal("1.05318443")).unwrap();
    assert_eq!(btc.currency.code(), "BTC");
    assert!(holdings.holdings.iter().all(|h| h.value == h.quantity * h.price), "exact values");
    assert_eq!(holdings.holdings.iter().filter(|h| h.cost_basis.is_none()).count(), 1);
    let stable = holdings.securities.iter().find(|s| s.ticker.is_none()).unwrap();
    assert_eq!(stable.close_price, None, "an unpriced plan fund stays unpriced");

    let activity =
        plaid::investment_transactions(&data("plaid/investments_transactions_get.json"), SKIP)
            .unwrap();
    assert_eq!((activity.transactions.len(), activity.securities.len()), (12, 6));
    assert!(activity.rejected.is_empty(), "{:?}", activity.rejected);
    assert_eq!(activity.transactions.iter().filter(|t| t.security_id.is_none()).count(), 2);
    assert_eq!(activity.transactions.iter().filter(|t| t.currency.code() == "BTC").count(), 2);
}

fn yapily_accounts() -> Vec<UnifiedAccount> {
    yapily::accounts(&data("yapily/accounts.json"), Some("yapily-mock"), SKIP)
        .unwrap()
        .into_complete()
        .unwrap()
}

#[test]
fn yapily_every_account_type_is_read_with_its_class() {
    let accounts = yapily_accounts();
    assert_eq!(accounts.len(), 24);
    let liabilities = accounts.iter().filter(|a| a.class == AccountClass::Liability).count();
    assert_eq!(
        liabilities, 6,
        "credit card, charge card, loan, mortgage, overdraft, marginal lending"
    );
    for account in accounts.iter().filter(|a| a.class == AccountClass::Liability) {
        assert!(account.balance_minor.is_none_or(|b| b <= 0), "{account:?}");
    }
    let unknown: Vec<_> =
        accounts.iter().filter(|a| a.account_type == AccountType::Unknown).collect();
    assert_eq!(unknown.len(), 2, "UNKNOWN and OTHER are kept, marked unknown");
    assert!(unknown.iter().any(|a| a.balance_minor.is_none()), "no balance is unknown, not 0");
    // CHARGES (ISO 20022 CHAR) may hold money or owe it: kept as an other asset with the sign
    // the bank gave, so a negative balance still lowers net worth.
    let charges = accounts.iter().find(|a| a.name == "Gebührenkonto").unwrap();
    assert_eq!(charges.account_type, AccountType::OtherAsset);
    assert!(charges.balance_minor.is_some_and(|b| b < 0));
    let currencies = |code: &str| accounts.iter().filter(|a| a.currency.code() == code).count();
    assert_eq!((currencies("GBP"), currencies("EUR"), currencies("USD")), (16, 6, 2));
}

#[test]
fn yapily_transactions_and_real_time_transactions_read_every_record() {
    let accounts = yapily_accounts();
    let current =
        accounts.iter().find(|a| a.provider_account_id == "510021000000000000000417").unwrap();
    let read =
        yapily::transactions(&data("yapily/transactions.json"), current, now(), SKIP).unwrap();
    assert_eq!((read.records.len(), read.rejected.len()), (23, 0), "{:?}", read.rejected);
    let pending = read.records.iter().filter(|t| t.status == TransactionStatus::Pending).count();
    assert_eq!(pending, 4);
    let hotel = read.records.iter().find(|t| t.original.is_some()).unwrap();
    let original = hotel.original.as_ref().unwrap();
    assert_eq!((original.amount, original.currency), (decimal("-72.00"), Asset::EUR));
    assert_eq!((hotel.amount_minor, hotel.currency), (-6_049, Asset::GBP), "72.00 × 0.8402");
    assert!(read.records.iter().all(|t| !t.provider_transaction_id.is_empty()), "ids or hashes");
    let realtime =
        yapily::transactions(&data("yapily/transactions_realtime.json"), current, now(), SKIP)
            .unwrap();
    assert_eq!(
        (realtime.records.len(), realtime.rejected.len()),
        (8, 0),
        "{:?}",
        realtime.rejected
    );
    let pending =
        realtime.records.iter().filter(|t| t.status == TransactionStatus::Pending).count();
    assert_eq!(pending, 3);
}

fn csv_account(currency: Asset) -> CsvAccount {
    CsvAccount {
        provider_account_id: "fixture".into(),
        name: "Fixture account".into(),
        account_type: AccountType::Checking,
        currency,
        institution_id: None,
    }
}

fn csv(file: &str, currency: Asset) -> CsvImport {
    normalise_detected(&data(&format!("csv/{file}")), &csv_account(currency), now(), SKIP)
        .unwrap_or_else(|e| panic!("{file}: {e}"))
}

/// (file, currency, preset, transactions, rows left out as not transactions, opening balance
/// in minor units when the file has a balance column, final balance or sum of amounts)
type Bank = (&'static str, &'static str, &'static str, usize, usize, Option<i128>, i128);

const BANKS: &[Bank] = &[
    ("lloyds.csv", "GBP", "lloyds", 11, 0, Some(120_433), 203_153),
    ("barclays.csv", "GBP", "barclays", 9, 0, None, 73_415),
    ("hsbc_uk.csv", "GBP", "hsbc_uk", 9, 0, None, 156_096),
    ("nationwide.csv", "GBP", "nationwide", 10, 0, Some(41_250), 164_491),
    ("monzo.csv", "GBP", "monzo", 10, 0, None, 86_497),
    ("starling.csv", "GBP", "starling", 10, 0, Some(64_000), 148_180),
    ("n26.csv", "EUR", "n26", 9, 0, None, 141_764),
    ("chase.csv", "USD", "chase", 10, 0, Some(312_055), 435_705),
    ("bank_of_america.csv", "USD", "bank_of_america", 10, 1, Some(284_510), 317_740),
    ("wells_fargo.csv", "USD", "wells_fargo", 9, 0, None, 120_069),
    ("zkb.csv", "CHF", "zkb", 9, 2, Some(498_035), 855_463),
];

#[test]
fn every_bank_export_is_detected_and_read_without_drift() {
    for &(file, currency, preset, count, skipped, opening, expected) in BANKS {
        let import = csv(file, Asset::iso(currency).unwrap());
        assert_eq!(import.preset, Some(preset), "{file}");
        assert!(
            import.transactions.rejected.is_empty(),
            "{file}: {:?}",
            import.transactions.rejected
        );
        assert_eq!(import.transactions.records.len(), count, "{file}");
        assert_eq!(import.skipped.len(), skipped, "{file}: {:?}", import.skipped);
        let sum: i128 = import.transactions.records.iter().map(|t| t.amount_minor).sum();
        match opening {
            Some(opening) => {
                assert_eq!(import.account.balance_minor, Some(expected), "{file}: final balance");
                assert_eq!(opening + sum, expected, "{file}: opening + transactions = final");
            }
            None => {
                assert_eq!(sum, expected, "{file}: sum of amounts");
                assert_eq!(import.account.balance_minor, None, "{file}: no balance column");
            }
        }
    }
}

#[test]
fn revolut_fees_and_states_and_dkb_decimal_commas() {
    let revolut = csv("revolut.csv", Asset::GBP);
    assert_eq!(revolut.preset, Some("revolut"));
    assert_eq!(revolut.skipped.len(), 1, "the REVERTED row: {:?}", revolut.skipped);
    let records = &revolut.transactions.records;
    let pending = records.iter().filter(|t| t.status == TransactionStatus::Pending).count();
    assert_eq!(pending, 1);
    let fees: Vec<_> =
        records.iter().filter(|t| t.provider_transaction_id.ends_with(":fee")).collect();
    assert!(
        !fees.is_empty() && fees.iter().all(|f| f.amount_minor < 0),
        "fees are their own outflows"
    );
    let posted: i128 = records
        .iter()
        .filter(|t| t.status == TransactionStatus::Posted)
        .map(|t| t.amount_minor)
        .sum();
    assert_eq!(30_000 + posted, 142_033, "opening + posted amounts and fees = the final balance");
    assert_eq!(revolut.account.balance_minor, Some(142_033));
    assert!(revolut.skipped[0].reason.contains("REVERTED"), "{:?}", revolut.skipped);
    assert!(records.iter().all(|t| t.description != "=Equals Gift Cards"));

    let dkb = csv("dkb.csv", Asset::EUR);
    assert_eq!((dkb.preset, dkb.encoding), (Some("dkb"), "Windows-1252"));
    assert_eq!(dkb.transactions.records.len(), 9);
    let sum: i128 = dkb.transactions.records.iter().map(|t| t.amount_minor).sum();
    assert_eq!(184_260 + sum, 359_720, "opening 1.842,60 + rows = Kontostand 3.597,20");
    let nationwide = csv("nationwide.csv", Asset::GBP);
    assert_eq!(nationwide.encoding, "Windows-1252");
}

#[test]
fn a_bad_row_in_a_real_export_is_reported_and_the_rest_imported() {
    let bytes = data("csv/lloyds_bad_row.csv");
    let account = csv_account(Asset::GBP);
    let skip = normalise_detected(&bytes, &account, now(), SKIP).unwrap();
    assert_eq!(skip.transactions.records.len(), 10);
    assert_eq!(skip.transactions.rejected.len(), 1);
    let bad = &skip.transactions.rejected[0];
    assert_eq!(bad.record, "line 7");
    assert!(matches!(&bad.error, ConnectError::InvalidDate { value, .. } if value == "31/02/2025"));
    assert_eq!(skip.account.balance_minor, Some(203_153), "the newest row still gives the balance");
    let quarantine =
        normalise_detected(&bytes, &account, now(), BadRecordPolicy::Quarantine).unwrap();
    assert!(
        quarantine.transactions.rejected[0]
            .raw
            .as_deref()
            .is_some_and(|r| r.contains("31/02/2025"))
    );
    let fail = normalise_detected(&bytes, &account, now(), BadRecordPolicy::FailDocument);
    assert!(matches!(fail, Err(ConnectError::InvalidDate { record, .. }) if record == "line 7"));
}

#[tokio::test]
async fn importing_each_export_twice_changes_nothing_the_second_time() {
    let (repository, stream) = twin().await;
    for (k, &(file, currency, ..)) in BANKS.iter().enumerate() {
        let mut account = csv_account(Asset::iso(currency).unwrap());
        account.provider_account_id = file.to_owned();
        let bytes = data(&format!("csv/{file}"));
        for pass in 0..2u128 {
            let import = normalise_detected(&bytes, &account, now(), SKIP).unwrap();
            let profile = repository.load(&stream).await.unwrap().state;
            let id = uuid::Uuid::from_u128(100 + 2 * u128::try_from(k).unwrap() + pass);
            let staged =
                stage(&profile, id, Source::Csv, vec![import.account], import.transactions.records);
            let expected = if pass == 0 { staged.report.transactions } else { 0 };
            assert_eq!(staged.report.new_transactions, expected, "{file}, pass {pass}");
            staged
                .approve(&repository, &stream, &EventMetadata::default(), |_, _| {})
                .await
                .unwrap();
        }
    }
}

mod properties {
    use super::*;
    use proptest::prelude::*;

    /// A cell as banks write amounts: plain, grouped, with a currency sign, in parentheses.
    fn amount_cell(pence: i64, style: u8) -> String {
        let (sign, abs) = (if pence < 0 { "-" } else { "" }, pence.unsigned_abs());
        let (major, minor) = (abs / 100, abs % 100);
        let grouped = {
            let digits = major.to_string();
            let mut out = String::new();
            for (i, c) in digits.chars().enumerate() {
                if i > 0 && (digits.len() - i).is_multiple_of(3) {
                    out.push(',');
                }
                out.push(c);
            }
            out
        };
        match style % 4 {
            0 => format!("{sign}{major}.{minor:02}"),
            1 => format!("\"{sign}{grouped}.{minor:02}\""),
            2 => format!("{sign}£{major}.{minor:02}"),
            _ if pence < 0 => format!("({major}.{minor:02})"),
            _ => format!("{major}.{minor:02}"),
        }
    }

    fn rows() -> impl Strategy<Value = Vec<(u32, i64, u8, String)>> {
        let description = "[-+=@A-Za-z0-9 *#'.,&]{1,30}";
        proptest::collection::vec(
            (0u32..400, -500_000i64..500_000, any::<u8>(), description),
            1..40,
        )
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 64, ..ProptestConfig::default() })]

        /// Any export of well-formed rows imports completely, and importing it again adds
        /// nothing — whatever the descriptions hold (formula characters, quotes, commas).
        #[test]
        fn a_csv_export_imported_twice_changes_nothing_the_second_time(rows in rows()) {
            let start = chrono::NaiveDate::from_ymd_opt(2024, 1, 1).unwrap();
            let mut body = String::from("Date,Description,Amount,Balance\n");
            for (day, pence, style, description) in &rows {
                let date = start + chrono::Duration::days(i64::from(*day));
                let description = description.replace('"', "\"\"");
                body.push_str(&format!("{},\"{description}\",{},\n", date.format("%d/%m/%Y"), amount_cell(*pence, *style)));
            }
            let mapping = fintra_twin::connect::csv::CsvMapping::signed_amount_preset();
            let account = csv_account(Asset::GBP);
            let read = |body: &str| {
                fintra_twin::connect::csv::normalise(body.as_bytes(), &mapping, &account, now(), SKIP).unwrap()
            };
            let first = read(&body);
            prop_assert!(first.transactions.rejected.is_empty(), "{:?}", first.transactions.rejected);
            prop_assert_eq!(first.transactions.records.len(), rows.len());
            let amounts: Vec<i128> = first.transactions.records.iter().map(|t| t.amount_minor).collect();
            let expected: Vec<i128> = rows.iter().map(|r| i128::from(r.1)).collect();
            prop_assert_eq!(amounts, expected);
            futures::executor::block_on(async {
                let (repository, stream) = twin().await;
                for pass in 0..2u128 {
                    let import = read(&body);
                    let profile = repository.load(&stream).await.unwrap().state;
                    let staged = stage(&profile, uuid::Uuid::from_u128(pass + 1), Source::Csv, vec![import.account], import.transactions.records);
                    let new = staged.report.new_transactions;
                    staged.approve(&repository, &stream, &EventMetadata::default(), |_, _| {}).await.unwrap();
                    if pass == 1 {
                        assert_eq!(new, 0, "the second import added {new}");
                    }
                }
            });
        }
    }
}

#[tokio::test]
async fn importing_each_provider_document_twice_changes_nothing_the_second_time() {
    let (repository, stream) = twin().await;
    let plaid_accounts = plaid_accounts();
    let yapily_accounts = yapily_accounts();
    let current = yapily_accounts
        .iter()
        .find(|a| a.provider_account_id == "510021000000000000000417")
        .unwrap();
    let documents = [
        (
            Source::Plaid,
            plaid_accounts.clone(),
            plaid::transactions(&data("plaid/transactions_get.json"), &plaid_accounts, now(), SKIP)
                .unwrap()
                .records,
        ),
        (
            Source::Yapily,
            yapily_accounts.clone(),
            yapily::transactions(&data("yapily/transactions.json"), current, now(), SKIP)
                .unwrap()
                .records,
        ),
        (
            Source::Yapily,
            vec![current.clone()],
            yapily::transactions(&data("yapily/transactions_realtime.json"), current, now(), SKIP)
                .unwrap()
                .records,
        ),
    ];
    for (k, (source, accounts, transactions)) in documents.into_iter().enumerate() {
        for pass in 0..2u128 {
            let profile = repository.load(&stream).await.unwrap().state;
            let id = uuid::Uuid::from_u128(500 + 2 * u128::try_from(k).unwrap() + pass);
            let staged = stage(&profile, id, source, accounts.clone(), transactions.clone());
            if pass == 1 {
                assert_eq!(staged.report.new_transactions, 0, "document {k}");
                assert_eq!(staged.report.new_accounts, 0, "document {k}");
            }
            staged
                .approve(&repository, &stream, &EventMetadata::default(), |_, _| {})
                .await
                .unwrap();
        }
    }
}
