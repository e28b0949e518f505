//! Connect benchmark (a macro harness that prints a table), in records/s:
//! - Plaid `/transactions/get`: normalisation alone, and normalise + stage + approve into a twin
//!   on the in-memory store (JSON parse, exact decimals, categorisation, dedup, one event per
//!   booking day, append);
//! - Plaid `/transactions/sync`: the same transactions as pages of 500 `added` records (Plaid's
//!   largest page), each page normalised on its own;
//! - a 100,000-row Lloyds CSV export (thousands separators, debit and credit columns, running
//!   balance), preset detected from the header.
//!
//! `cargo bench -p benches --bench connect`. Sizes: `FINTRA_CONNECT_TRANSACTIONS` (default
//! 200,000 per run), `FINTRA_CONNECT_CSV_ROWS` (default 100,000), `FINTRA_CONNECT_RUNS` (default
//! 5). Results are in `docs/benchmarks.md`.

#![allow(clippy::print_stdout, reason = "a benchmark prints its table")]
#![allow(clippy::unwrap_used, clippy::cast_precision_loss, reason = "benchmark harness")]

use benches::{env, median};
use std::fmt::Write as _;
use std::time::Instant;

use chrono::{Duration, NaiveDate, TimeZone, Utc};
use fintra_core::{Asset, EventMetadata, InMemoryEventStore, Repository};
use fintra_twin::connect::csv::{CsvAccount, normalise_detected};
use fintra_twin::connect::{BadRecordPolicy, plaid, stage};
use fintra_twin::fos::{AccountType, Source};
use fintra_twin::{Profile, ProfileCommand};

const NAMES: &[&str] = &[
    "SQ *STARBUCKS #1123",
    "AMZN MKTPL WA",
    "TESCO STORES 3021",
    "SHELL 5532",
    "UBER * TRIP",
    "TFL TRAVEL CH",
    "NETFLIX.COM",
    "CORNER SHOP 1234",
];

const POLICY: BadRecordPolicy = BadRecordPolicy::FailDocument;

/// Plaid transaction `k` of `n` as JSON, with Plaid's `personal_finance_category` when
/// `category` (the /transactions/get workload leaves it out, as the earlier runs did, so its
/// numbers compare; a 200,000-transaction body with it would pass the 64 MiB input bound).
fn transaction(k: u64, n: u64, category: bool) -> String {
    let start = NaiveDate::from_ymd_opt(2022, 1, 1).unwrap();
    let day = start + Duration::days(i64::try_from(k * 1000 / n.max(1)).unwrap());
    let name = NAMES[usize::try_from(k % 8).unwrap()];
    let account = if k.is_multiple_of(3) { "chk" } else { "cc" };
    let pence = 100 + (k * 7919) % 9000;
    let pfc = if category {
        ", \"personal_finance_category\": {\"primary\": \"FOOD_AND_DRINK\", \"detailed\": \"FOOD_AND_DRINK_COFFEE\", \"confidence_level\": \"HIGH\"}"
    } else {
        ""
    };
    format!(
        "{{\"transaction_id\": \"t{k}\", \"account_id\": \"{account}\", \"amount\": {}.{:02}, \"iso_currency_code\": \"GBP\", \"date\": \"{day}\", \"name\": \"{name}\", \"merchant_name\": null, \"pending\": false, \"pending_transaction_id\": null{pfc}}}",
        pence / 100,
        pence % 100
    )
}

/// `/transactions/sync` pages of at most 500 added transactions, `n` in all.
fn sync_pages(n: u64) -> Vec<String> {
    let mut pages = Vec::new();
    let mut k = 0;
    while k < n {
        let end = (k + 500).min(n);
        let added: Vec<String> = (k..end).map(|i| transaction(i, n, true)).collect();
        pages.push(format!(
            "{{\"accounts\": [], \"added\": [{}], \"modified\": [], \"removed\": [], \"next_cursor\": \"c{end}\", \"has_more\": {}, \"request_id\": \"r\"}}",
            added.join(","),
            end < n
        ));
        k = end;
    }
    pages
}

/// A Lloyds export of `rows` rows, newest first, with a running balance.
fn lloyds_csv(rows: u64) -> Vec<u8> {
    let mut out = String::from(
        "Transaction Date,Transaction Type,Sort Code,Account Number,Transaction Description,Debit Amount,Credit Amount,Balance,\n",
    );
    let start = NaiveDate::from_ymd_opt(2015, 1, 1).unwrap();
    let mut balance: i64 = 1_000_000;
    let mut lines = Vec::with_capacity(usize::try_from(rows).unwrap());
    for k in 0..rows {
        let day = start + Duration::days(i64::try_from(k * 3650 / rows.max(1)).unwrap());
        let pence = i64::try_from(100 + (k * 7919) % 250_000).unwrap();
        let (debit, credit) = if k.is_multiple_of(5) { (0, pence * 4) } else { (pence, 0) };
        balance += credit - debit;
        let cell = |v: i64| {
            if v == 0 { String::new() } else { format!("\"{}.{:02}\"", group(v / 100), v % 100) }
        };
        let name = NAMES[usize::try_from(k % 8).unwrap()];
        lines.push(format!(
            "{},DEB,'30-99-50,12345678,{name},{},{},\"{}.{:02}\",",
            day.format("%d/%m/%Y"),
            cell(debit),
            cell(credit),
            group(balance / 100),
            balance.rem_euclid(100)
        ));
    }
    lines.reverse();
    for line in lines {
        out.push_str(&line);
        out.push('\n');
    }
    out.into_bytes()
}

/// `1234567` → `1,234,567`.
fn group(v: i64) -> String {
    let digits = v.abs().to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    if v < 0 { format!("-{out}") } else { out }
}

/// A Plaid body with `n` transactions over ~3 years on two accounts.
fn documents(n: u64) -> (String, String) {
    let accounts = r#"{"accounts": [
      {"account_id": "chk", "name": "Current", "type": "depository", "subtype": "checking",
       "balances": {"current": 1000.00, "available": 1000.00, "iso_currency_code": "GBP"}},
      {"account_id": "cc", "name": "Card", "type": "credit", "subtype": "credit card",
       "balances": {"current": 250.00, "available": null, "iso_currency_code": "GBP"}}]}"#;
    let mut body = String::from("{\"accounts\": [], \"transactions\": [\n");
    for k in 0..n {
        let _ = write!(body, "{}{}", if k == 0 { "" } else { ",\n" }, transaction(k, n, false));
    }
    body.push_str("\n]}\n");
    (accounts.to_owned(), body)
}

/// A generic `Date,Description,Amount,Balance` export of `rows` rows (signed amounts, no
/// thousands separators): a layout the earlier CSV reader also read, for comparison.
fn generic_csv(rows: u64) -> Vec<u8> {
    let mut out = String::from("Date,Description,Amount,Balance\n");
    let start = NaiveDate::from_ymd_opt(2015, 1, 1).unwrap();
    let mut balance: i64 = 1_000_000;
    for k in 0..rows {
        let day = start + Duration::days(i64::try_from(k * 3650 / rows.max(1)).unwrap());
        let pence = i64::try_from(100 + (k * 7919) % 250_000).unwrap();
        let amount = if k % 5 == 0 { pence * 4 } else { -pence };
        balance += amount;
        let name = NAMES[usize::try_from(k % 8).unwrap()];
        let sign = if amount < 0 { "-" } else { "" };
        let _ = writeln!(
            out,
            "{},{name},{sign}{}.{:02},{}.{:02}",
            day.format("%d/%m/%Y"),
            amount.abs() / 100,
            amount.abs() % 100,
            balance / 100,
            balance.rem_euclid(100)
        );
    }
    out.into_bytes()
}

/// Normalise + stage + approve the /transactions/get body into a twin in memory; returns the
/// stream's version afterwards.
fn import_into_twin(
    rt: &tokio::runtime::Runtime,
    accounts_json: &str,
    body: &str,
    now: chrono::DateTime<Utc>,
) -> u64 {
    let accounts = plaid::accounts(accounts_json.as_bytes(), None, POLICY).unwrap().records;
    let transactions =
        plaid::transactions(body.as_bytes(), &accounts, now, POLICY).unwrap().records;
    let repository = Repository::<Profile, _>::new(InMemoryEventStore::new());
    let stream = repository.stream_id(uuid::Uuid::from_u128(1)).unwrap();
    let meta = EventMetadata::default();
    rt.block_on(async {
        let create = ProfileCommand::Create { profile_id: "u".into(), base_currency: Asset::GBP };
        repository.execute(&stream, &create, &meta).await.unwrap();
        let staged = stage(
            &Profile::default(),
            uuid::Uuid::from_u128(2),
            Source::Plaid,
            accounts,
            transactions,
        );
        let receipt = staged.approve(&repository, &stream, &meta, |_, _| {}).await.unwrap();
        receipt.last_version.map_or(0, |v| v.get())
    })
}

fn rate(records: u64, started: Instant) -> f64 {
    records as f64 / started.elapsed().as_secs_f64()
}

fn main() {
    let n = env("FINTRA_CONNECT_TRANSACTIONS", 200_000);
    let csv_rows = env("FINTRA_CONNECT_CSV_ROWS", 100_000);
    let runs = env("FINTRA_CONNECT_RUNS", 5);
    let (accounts_json, body) = documents(n);
    let pages = sync_pages(n);
    let csv = lloyds_csv(csv_rows);
    let generic = generic_csv(csv_rows);
    let csv_account = CsvAccount {
        provider_account_id: "30-99-50 12345678".into(),
        name: "Classic".into(),
        account_type: AccountType::Checking,
        currency: Asset::GBP,
        institution_id: None,
    };
    let now = Utc.with_ymd_and_hms(2025, 1, 1, 0, 0, 0).unwrap();
    let rt = tokio::runtime::Builder::new_current_thread().build().unwrap();
    let (mut get, mut sync, mut lloyds, mut end_to_end) =
        (Vec::new(), Vec::new(), Vec::new(), Vec::new());
    let mut plain = Vec::new();
    let mut events = 0;
    for _ in 0..runs {
        let started = Instant::now();
        let accounts = plaid::accounts(accounts_json.as_bytes(), None, POLICY).unwrap().records;
        let transactions = plaid::transactions(body.as_bytes(), &accounts, now, POLICY).unwrap();
        assert_eq!(transactions.records.len() as u64, n);
        get.push(rate(n, started));

        let started = Instant::now();
        let mut added = 0;
        for page in &pages {
            added += plaid::sync(page.as_bytes(), &accounts, now, POLICY).unwrap().added.len();
        }
        assert_eq!(added as u64, n);
        sync.push(rate(n, started));

        let started = Instant::now();
        let import = normalise_detected(&csv, &csv_account, now, POLICY).unwrap();
        assert_eq!(import.transactions.records.len() as u64, csv_rows);
        lloyds.push(rate(csv_rows, started));

        let started = Instant::now();
        let mapping = fintra_twin::connect::csv::CsvMapping::signed_amount_preset();
        let import =
            fintra_twin::connect::csv::normalise(&generic, &mapping, &csv_account, now, POLICY)
                .unwrap();
        assert_eq!(import.transactions.records.len() as u64, csv_rows);
        plain.push(rate(csv_rows, started));

        let started = Instant::now();
        events = import_into_twin(&rt, &accounts_json, &body, now);
        end_to_end.push(rate(n, started));
    }
    println!("| workload (median of {runs}) | records/s | min – max |");
    println!("|---|---:|---|");
    for (name, samples) in [
        (format!("Plaid /transactions/get, {n} transactions: normalise"), get),
        (format!("Plaid /transactions/sync, {} pages of ≤ 500: normalise", pages.len()), sync),
        (format!("Lloyds CSV, {csv_rows} rows: detect + normalise"), lloyds),
        (format!("generic signed CSV, {csv_rows} rows: normalise"), plain),
        (
            format!("Plaid /transactions/get, {n}: normalise + stage + approve in memory"),
            end_to_end,
        ),
    ] {
        let lo = samples.iter().copied().fold(f64::MAX, f64::min);
        let hi = samples.iter().copied().fold(0.0, f64::max);
        println!("| {name} | {:.0} | {lo:.0} – {hi:.0} |", median(samples));
    }
    println!("({events} events in the twin's stream after approval)");
}
