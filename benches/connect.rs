//! Connect benchmark (a macro harness that prints a table): Plaid transactions/s through
//! normalisation alone, and through normalise + stage + approve into a twin on the in-memory
//! store (JSON parse, exact decimals, categorisation, dedup, one event per booking day, append).
//!
//! `cargo bench -p benches --bench connect`. Sizes: `FINTRA_CONNECT_TRANSACTIONS` (default
//! 200,000 per run), `FINTRA_CONNECT_RUNS` (default 5). Results are in `docs/benchmarks.md`.

#![allow(clippy::print_stdout, reason = "a benchmark prints its table")]
#![allow(clippy::unwrap_used, clippy::cast_precision_loss, reason = "benchmark harness")]

use benches::{env, median};
use std::fmt::Write as _;
use std::time::Instant;

use chrono::{Duration, NaiveDate, TimeZone, Utc};
use fintra_core::{Asset, EventMetadata, InMemoryEventStore, Repository};
use fintra_twin::connect::{plaid, stage};
use fintra_twin::fos::Source;
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

/// A Plaid body with `n` transactions over ~3 years on two accounts.
fn documents(n: u64) -> (String, String) {
    let accounts = r#"{"accounts": [
      {"account_id": "chk", "name": "Current", "type": "depository", "subtype": "checking",
       "balances": {"current": 1000.00, "available": 1000.00, "iso_currency_code": "GBP"}},
      {"account_id": "cc", "name": "Card", "type": "credit", "subtype": "credit card",
       "balances": {"current": 250.00, "available": null, "iso_currency_code": "GBP"}}]}"#;
    let start = NaiveDate::from_ymd_opt(2022, 1, 1).unwrap();
    let mut body = String::from("{\"accounts\": [], \"transactions\": [\n");
    for k in 0..n {
        let day = start + Duration::days(i64::try_from(k * 1000 / n.max(1)).unwrap());
        let name = NAMES[usize::try_from(k % 8).unwrap()];
        let account = if k % 3 == 0 { "chk" } else { "cc" };
        let pence = 100 + (k * 7919) % 9000;
        let _ = write!(
            body,
            "{}{{\"transaction_id\": \"t{k}\", \"account_id\": \"{account}\", \"amount\": {}.{:02}, \"iso_currency_code\": \"GBP\", \"date\": \"{day}\", \"name\": \"{name}\", \"merchant_name\": null, \"pending\": false, \"pending_transaction_id\": null}}",
            if k == 0 { "" } else { ",\n" },
            pence / 100,
            pence % 100
        );
    }
    body.push_str("\n]}\n");
    (accounts.to_owned(), body)
}

fn main() {
    let n = env("FINTRA_CONNECT_TRANSACTIONS", 200_000);
    let runs = env("FINTRA_CONNECT_RUNS", 5);
    let (accounts_json, body) = documents(n);
    let now = Utc.with_ymd_and_hms(2025, 1, 1, 0, 0, 0).unwrap();
    let rt = tokio::runtime::Builder::new_current_thread().build().unwrap();
    let mut normalise = Vec::new();
    let mut end_to_end = Vec::new();
    let mut events = 0;
    for _ in 0..runs {
        let started = Instant::now();
        let accounts = plaid::accounts(accounts_json.as_bytes(), None).unwrap();
        let transactions = plaid::transactions(body.as_bytes(), &accounts, now).unwrap();
        normalise.push(n as f64 / started.elapsed().as_secs_f64());
        drop(transactions);

        let started = Instant::now();
        let accounts = plaid::accounts(accounts_json.as_bytes(), None).unwrap();
        let transactions = plaid::transactions(body.as_bytes(), &accounts, now).unwrap();
        let repository = Repository::<Profile, _>::new(InMemoryEventStore::new());
        let stream = repository.stream_id(uuid::Uuid::from_u128(1)).unwrap();
        let meta = EventMetadata::default();
        rt.block_on(async {
            let create =
                ProfileCommand::Create { profile_id: "u".into(), base_currency: Asset::GBP };
            repository.execute(&stream, &create, &meta).await.unwrap();
            let staged = stage(
                &Profile::default(),
                uuid::Uuid::from_u128(2),
                Source::Plaid,
                accounts,
                transactions,
            );
            let receipt = staged.approve(&repository, &stream, &meta, |_, _| {}).await.unwrap();
            events = receipt.last_version.map_or(0, |v| v.get());
        });
        end_to_end.push(n as f64 / started.elapsed().as_secs_f64());
    }
    println!(
        "| workload (median of {runs}, {n} Plaid transactions) | transactions/s | min – max |"
    );
    println!("|---|---:|---|");
    for (name, samples) in [
        ("normalise (parse, exact decimals, categorise)", normalise),
        ("normalise + stage + approve on InMemoryEventStore", end_to_end),
    ] {
        let lo = samples.iter().copied().fold(f64::MAX, f64::min);
        let hi = samples.iter().copied().fold(0.0, f64::max);
        println!("| {name} | {:.0} | {lo:.0} – {hi:.0} |", median(samples));
    }
    println!("({events} events in the twin's stream after approval)");
}
