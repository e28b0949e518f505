//! The warm tier on PostgreSQL: the sample twin's Plaid data imported into a
//! `TimescaleEventStore` (TimescaleDB when installed, native partitions otherwise), its daily
//! rollups (end-of-day balances, spend per category), a time-range query, and a Parquet archive
//! of the log read back through a cross-tier reader.
//!
//! ```text
//! cargo run --example warm_tier                                   # FINTRA_DATABASE_URL or the local server
//! cargo run --example warm_tier -- --database-url postgres://postgres@127.0.0.1/postgres
//! ```
//! It works in the schema `fintra_warm_example` (created if missing; a second run imports nothing
//! new) and writes the archive under `target/warm_tier`. `docs/timescale.md` explains the store.

use std::path::Path;
use std::sync::Arc;

use chrono::{Duration, TimeZone, Utc};
use examples::twin_import::plaid_files;
use fintra_core::{
    Asset, EventMetadata, ExecuteError, ManualClock, Money, Position, Repository, StreamId,
    TenantId,
};
use fintra_store_parquet::ParquetArchive;
use fintra_store_timescale::series::EventQuery;
use fintra_store_timescale::{TieredLog, TimescaleEventStore, TimescaleStoreOptions, TwinRollups};
use fintra_twin::connect::stage;
use fintra_twin::{Profile, ProfileCommand, ProfileRejection};

type Failure = Box<dyn std::error::Error>;

fn database_url() -> Result<String, Failure> {
    let mut it = std::env::args().skip(1);
    let mut url = std::env::var("FINTRA_DATABASE_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".to_owned());
    while let Some(arg) = it.next() {
        match arg.as_str() {
            "--database-url" => url = it.next().ok_or("--database-url needs a URL")?,
            other => return Err(format!("unknown argument {other:?}").into()),
        }
    }
    Ok(url)
}

fn gbp(minor: rust_decimal::Decimal) -> String {
    use rust_decimal::prelude::ToPrimitive;
    minor
        .to_i128()
        .map_or_else(|| format!("{minor} minor"), |m| Money::new(m, Asset::GBP).to_string())
}

#[allow(clippy::print_stdout, reason = "an example talks to its reader")]
fn main() -> Result<(), Failure> {
    let url = database_url()?;
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
    runtime.block_on(async {
        let mut options = TimescaleStoreOptions::default();
        options.store.schema = Some("fintra_warm_example".into());
        options.store.notify_channel = "fintra_warm_example".into();
        let store = TimescaleEventStore::connect(&url, options)
            .await
            .map_err(|e| format!("PostgreSQL at {url}: {e}"))?;
        store.migrate().await?;
        println!(
            "warm store: {:?}, {} partitions",
            store.layout(),
            store.partitions().await?.len()
        );
        let (twin, stream) = import_twin(&store).await?;
        print_rollups(&store, &twin, &stream).await?;
        // What was recorded in the last hour, one page.
        let now = fintra_core::Clock::now(&fintra_core::SystemClock);
        let recent = store
            .events_between(&EventQuery::between(
                now - Duration::hours(1),
                now + Duration::minutes(1),
            ))
            .await?;
        println!("\nevents recorded in the last hour (first page): {}", recent.events.len());
        archive_and_replay(&store).await
    })
}

type Twin = Repository<Profile, TimescaleEventStore>;

/// The twin, on the warm store: created, with the Plaid sample approved into it.
#[allow(clippy::print_stdout, reason = "an example talks to its reader")]
async fn import_twin(store: &TimescaleEventStore) -> Result<(Twin, StreamId), Failure> {
    let clock = Arc::new(ManualClock::new(
        Utc.with_ymd_and_hms(2025, 6, 30, 18, 0, 0).single().ok_or("clock")?,
    ));
    let twin = Repository::<Profile, _>::new(store.clone()).with_clock(clock.clone());
    let stream = twin.stream_id(uuid::Uuid::from_u128(0x7a11))?;
    let meta = EventMetadata::default();
    let create = ProfileCommand::Create { profile_id: "usr_ada".into(), base_currency: Asset::GBP };
    match twin.execute(&stream, &create, &meta).await {
        Ok(_) | Err(ExecuteError::Rejected(ProfileRejection::AlreadyCreated)) => {}
        Err(other) => return Err(other.into()),
    }
    let data_dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("data");
    let data = plaid_files(&data_dir, fintra_core::Clock::now(clock.as_ref()))?;
    let current = twin.load(&stream).await?.state;
    let id = uuid::Uuid::from_u128(1);
    let staged = stage(&current, id, data.source, data.accounts, data.transactions);
    println!("import: {} new transactions", staged.report.new_transactions);
    staged.approve(&twin, &stream, &meta, |_, _| {}).await?;
    Ok((twin, stream))
}

/// Rollups from the log, checkpointed with their points: a week of spend and balances.
#[allow(clippy::print_stdout, reason = "an example talks to its reader")]
async fn print_rollups(
    store: &TimescaleEventStore,
    twin: &Twin,
    stream: &StreamId,
) -> Result<(), Failure> {
    let consumed = TwinRollups::default().catch_up(store).await?;
    println!("rollups: {consumed} log events folded");
    let (_, last_day) = examples::sample_data::period();
    let week = last_day - Duration::days(6);
    let tenant = TenantId::default();
    println!("\nspend per category, {week} … {last_day}");
    for spend in store.daily_spend(&tenant, week, last_day).await? {
        println!("  {}  {:<24} {:>12}", spend.day, spend.category, gbp(spend.amount_minor));
    }
    let profile = twin.load(stream).await?.state;
    let checking = profile
        .accounts()
        .find(|a| a.account.account_type == fintra_twin::fos::AccountType::Checking);
    if let Some(account) = checking {
        let id = &account.account.account_id;
        println!("\nend-of-day balance of {id} ({})", account.account.name);
        for day in store.daily_balances(&tenant, id, week, last_day).await? {
            println!("  {}  {:>12}", day.day, gbp(day.balance_minor));
        }
    }
    Ok(())
}

/// The whole log as a Parquet archive, read back across tiers from position 0.
#[allow(clippy::print_stdout, reason = "an example talks to its reader")]
async fn archive_and_replay(store: &TimescaleEventStore) -> Result<(), Failure> {
    let out = Path::new(env!("CARGO_MANIFEST_DIR")).join("../target/warm_tier");
    let archive = Arc::new(ParquetArchive::local(&out)?);
    let manifest = archive.archive_range(store, Position::START, Position(u64::MAX)).await?;
    archive.verify(&manifest.archive_id).await?;
    let tiered = TieredLog::new(store.clone(), Arc::clone(&archive));
    let mut after = Position::START;
    let mut read = 0usize;
    loop {
        let page = tiered.read_all(after, 500).await?;
        let Some(last) = page.last() else { break };
        after = last.position;
        read += page.len();
    }
    println!(
        "archive {} ({} rows, verified) in {}; a replay across tiers read {read} events \
         (the archive holds the warm log's events again: the reader shows each once)",
        manifest.archive_id,
        manifest.rows,
        out.display()
    );
    Ok(())
}
