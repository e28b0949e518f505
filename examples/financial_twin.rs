//! The Financial Twin, end to end: fintra's main job.
//!
//! Imports 18 months of one person's messy bank data (Plaid, Yapily and a CSV export from
//! `examples/data/`) through Connect's normalise → stage → approve flow into an event-sourced
//! twin, with the Brain (`fintra-ml`) categorising every transaction at staging; then prints the
//! categories with where they came from,  the Unified 360 summary, the recurring income and bills it detected,
//! monthly burn and free cash flow, the twin as of a past date, and two what-if forks; it writes
//! a net-worth-over-time chart (SVG) and says where. Last, the Brain's balance forecast for the
//! next 90 days with its P10–P90 band (a second SVG) and the warnings and nudges it calls for.
//!
//! ```text
//! cargo run --release --example financial_twin                       # in-memory store
//! cargo run --release --example financial_twin --features postgres -- \
//!     --database-url postgres://postgres@127.0.0.1/postgres
//! ```
//! Options: `--database-url URL` (PostgreSQL instead of memory, built with `--features
//! postgres`: the store's tables are created in the connection's default schema if missing, and
//! a second run shows re-imports as no-ops), `--out DIR` (where the chart goes; default
//! `target/financial_twin`). `docs/twin.md` explains every number.

use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use chrono::{Duration, NaiveDate, TimeZone, Utc};
use examples::outlook::OutlookError;
use examples::twin_import::{Normalised, csv_file, import_normalised, plaid_files, yapily_files};
use fintra_core::{
    Asset, EventMetadata, EventStore, ExecuteError, InMemoryEventStore, ManualClock, Money,
    Repository, StreamId,
};
use fintra_ml::Brain;
use fintra_twin::connect::{StagedImport, stage};
use fintra_twin::fos::{FlowType, Lineage};
use fintra_twin::{
    Profile, ProfileCommand, ProfileRejection, WhatIf, net_worth_timeline, unified_360,
};

type Failure = Box<dyn std::error::Error>;

struct Args {
    database_url: Option<String>,
    out: PathBuf,
}

fn args() -> Result<Args, Failure> {
    let mut args = Args {
        database_url: None,
        out: Path::new(env!("CARGO_MANIFEST_DIR"))
            .parent()
            .unwrap_or(Path::new("."))
            .join("target/financial_twin"),
    };
    let mut it = std::env::args().skip(1);
    while let Some(arg) = it.next() {
        match arg.as_str() {
            "--database-url" => {
                args.database_url = Some(it.next().ok_or("--database-url needs a URL")?)
            }
            "--out" => args.out = PathBuf::from(it.next().ok_or("--out needs a directory")?),
            other => {
                return Err(format!("unknown argument {other:?} (see the example's header)").into());
            }
        }
    }
    Ok(args)
}

fn main() -> Result<(), Failure> {
    let args = args()?;
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
    runtime.block_on(async {
        match &args.database_url {
            None => run(InMemoryEventStore::new(), "in-memory store", &args.out).await,
            Some(url) => run_on_postgres(url, &args.out).await,
        }
    })
}

#[cfg(feature = "postgres")]
async fn run_on_postgres(url: &str, out: &Path) -> Result<(), Failure> {
    use fintra_store_postgres::{PgEventStore, PgStoreOptions};
    let store = PgEventStore::connect(url, PgStoreOptions::default()).await?;
    store.migrate().await?;
    run(store, "PostgreSQL", out).await
}

#[cfg(not(feature = "postgres"))]
async fn run_on_postgres(_url: &str, _out: &Path) -> Result<(), Failure> {
    Err("this build has no PostgreSQL store: run it with \
         `cargo run --release --example financial_twin --features postgres -- --database-url URL`"
        .into())
}

fn gbp(minor: i128) -> String {
    Money::new(minor, Asset::GBP).to_string()
}

/// A text progress bar on stderr.
fn progress_bar(label: &str, done: usize, total: usize) {
    let width = 30;
    let filled = (done * width).checked_div(total).unwrap_or(width);
    let percent = (done * 100).checked_div(total).unwrap_or(100);
    let bar = format!("{}{}", "#".repeat(filled), ".".repeat(width - filled));
    let mut err = std::io::stderr();
    let _ = write!(err, "\r  {label:<8} [{bar}] {percent:>3}% {done}/{total} transactions");
    if done >= total {
        let _ = writeln!(err);
    }
    let _ = err.flush();
}

async fn import<S: EventStore>(
    twin: &Twin<S>,
    data: Normalised,
    label: &str,
) -> Result<StagedImport, Failure> {
    let import_id = uuid::Uuid::from_u128(u128::from(data.source as u8) + 1);
    let now = fintra_core::Clock::now(twin.clock.as_ref());
    let (repository, stream, brain) = (&twin.repository, &twin.stream, &twin.brain);
    let review =
        import_normalised(repository, stream, brain, now, import_id, data, |done, total| {
            progress_bar(label, done, total)
        })
        .await?;
    Ok(review)
}

/// The twin being built: its repository, stream and the sample data's period.
struct Twin<S> {
    repository: Repository<Profile, S>,
    stream: StreamId,
    clock: Arc<ManualClock>,
    brain: Brain,
    first_day: NaiveDate,
    today: NaiveDate,
}

#[allow(clippy::print_stdout, reason = "an example talks to its reader")]
async fn run<S: EventStore>(store: S, store_name: &str, out: &Path) -> Result<(), Failure> {
    let (first_day, today) = examples::sample_data::period();
    let clock = Arc::new(ManualClock::new(
        Utc.with_ymd_and_hms(2025, 6, 30, 18, 0, 0).single().ok_or("clock")?,
    ));
    let repository = Repository::<Profile, _>::new(store).with_clock(clock.clone());
    let stream = repository.stream_id(uuid::Uuid::from_u128(0x7a11))?;
    let brain = Brain::builtin()?;
    let twin = Twin { repository, stream, clock, brain, first_day, today };
    println!("fintra Financial Twin — {store_name}, data {first_day} … {today}\n");
    let create = ProfileCommand::Create { profile_id: "usr_ada".into(), base_currency: Asset::GBP };
    match twin.repository.execute(&twin.stream, &create, &EventMetadata::default()).await {
        Ok(_) | Err(ExecuteError::Rejected(ProfileRejection::AlreadyCreated)) => {}
        Err(other) => return Err(other.into()),
    }
    let profile = connect(&twin).await?;
    print_categories(&profile);
    let report = fintra_twin::report(&profile, today);
    print_unified_360(&twin, &report).await?;
    print_cashflow(&report.cashflow);
    print_time_travel_and_forks(&twin, &report.cashflow).await?;
    write_chart(&twin, out).await?;
    print_outlook(&profile, today, out)
}

/// The Brain's "am I okay?": the balance forecast at 30, 60 and 90 days, its chart, and the
/// warnings and nudges it calls for.
#[allow(clippy::print_stdout, reason = "an example talks to its reader")]
fn print_outlook(profile: &Profile, today: NaiveDate, out: &Path) -> Result<(), Failure> {
    let outlook = match examples::outlook::outlook(profile, today, out) {
        Ok(o) => o,
        Err(OutlookError::Forecast(e)) => {
            println!(
                "
Balance forecast: {e}"
            );
            return Ok(());
        }
        Err(e) => return Err(e.into()),
    };
    let f = &outlook.forecast;
    println!(
        "
Balance forecast (cash, {:?}), from {}",
        f.method,
        gbp(f.opening_balance_minor)
    );
    for p in f.headline() {
        println!(
            "  {}  P50 {:>12}   P10 {:>12}   P90 {:>12}",
            p.target_date,
            gbp(p.predicted_balance_minor),
            gbp(p.lower_bound_minor),
            gbp(p.upper_bound_minor)
        );
    }
    match f.days_until_zero_p10 {
        Some(days) => println!("  one chance in ten of an overdraft within {days} days"),
        None => println!("  no overdraft in sight (P10 stays above zero for 90 days)"),
    }
    for caveat in &f.caveats {
        println!("  note: {}", serde_json::to_string(caveat)?);
    }
    println!("Brain events (warnings and nudges, each once per change)");
    if outlook.events.is_empty() {
        println!("  none");
    }
    for event in &outlook.events {
        println!("  {:<30} {}", event.event_type(), serde_json::to_string(event)?);
    }
    println!("Balance forecast chart written to {}", outlook.chart.display());
    Ok(())
}

/// Connect: the three sample sources normalised, staged and approved, a manual asset valued
/// twice, and a re-staging that finds nothing new. Returns the twin's profile.
#[allow(clippy::print_stdout, reason = "an example talks to its reader")]
async fn connect<S: EventStore>(twin: &Twin<S>) -> Result<Profile, Failure> {
    let (repository, stream) = (&twin.repository, &twin.stream);
    let data_dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("data");
    println!("Connect: normalise → stage → approve");
    let now = fintra_core::Clock::now(twin.clock.as_ref());
    let started = std::time::Instant::now();
    let mut total = 0usize;
    for (label, data) in [
        ("plaid", plaid_files(&data_dir, now)?),
        ("yapily", yapily_files(&data_dir, now)?),
        ("csv", csv_file(&data_dir, now)?),
    ] {
        let rejected = data.rejected.len();
        let staged = import(twin, data, label).await?;
        let r = &staged.report;
        total += r.transactions;
        println!(
            "           {} accounts ({} new), {} transactions: {} new, {} duplicate in the file, {} already imported, {} pending replaced by posted, {} pending dropped, {} unreadable records left out",
            r.accounts,
            r.new_accounts,
            r.transactions,
            r.new_transactions,
            r.duplicates_in_input,
            r.already_imported,
            r.pending_replaced,
            r.pending_already_posted,
            rejected
        );
    }
    for asset in examples::twin_import::sample_flat() {
        let command = ProfileCommand::ValueManualAsset(asset);
        repository.execute(stream, &command, &EventMetadata::default()).await?;
    }
    let again = plaid_files(&data_dir, now)?;
    let current = repository.load(stream).await?;
    let id = uuid::Uuid::from_u128(99);
    let rerun = stage(&current.state, id, again.source, again.accounts, again.transactions);
    println!(
        "           re-staging the Plaid file: {} new, {} already imported (dedup on provider_transaction_id)",
        rerun.report.new_transactions, rerun.report.already_imported
    );
    println!(
        "           {total} provider records → {} events in {:.2?}\n",
        current.version,
        started.elapsed()
    );
    Ok(current.state)
}

/// The Brain's work: how many transactions each layer decided, and the most frequent merchants
/// with their category, source and confidence.
#[allow(clippy::print_stdout, reason = "an example talks to its reader")]
fn print_categories(profile: &Profile) {
    let mut by_source: std::collections::BTreeMap<&str, usize> = Default::default();
    let mut by_merchant: std::collections::BTreeMap<(&str, &str), (usize, &Lineage)> =
        Default::default();
    for t in profile.transactions() {
        let Some(e) = t.transaction.enrichment.as_ref() else { continue };
        *by_source.entry(e.lineage.source.as_str()).or_default() += 1;
        let merchant = e.merchant_name.as_deref().unwrap_or("—");
        by_merchant.entry((merchant, e.category.as_str())).or_insert((0, &e.lineage)).0 += 1;
    }
    let total: usize = by_source.values().sum();
    println!("Brain: {total} transactions categorised at staging");
    for (source, n) in &by_source {
        println!("  {source:<26} {n:>5}");
    }
    let mut top: Vec<_> = by_merchant.into_iter().collect();
    top.sort_by(|a, b| b.1.0.cmp(&a.1.0).then(a.0.cmp(&b.0)));
    println!("  {:<22} {:<30} {:<24} {:>10}  seen", "merchant", "category", "source", "confidence");
    for ((merchant, category), (n, lineage)) in top.into_iter().take(10) {
        let confidence = lineage.confidence.map_or(0.0, |c| c.value());
        println!("  {merchant:<22} {category:<30} {:<24} {confidence:>10.2}  {n}", lineage.source);
    }
    println!();
}

#[allow(clippy::print_stdout, reason = "an example talks to its reader")]
async fn print_unified_360<S: EventStore>(
    twin: &Twin<S>,
    report: &fintra_twin::TwinReport,
) -> Result<(), Failure> {
    let today = twin.today;
    let month_ago =
        fintra_twin::as_of(&twin.repository, &twin.stream, today - Duration::days(30)).await?;
    let view = unified_360(report, fintra_twin::balance_sheet(&month_ago).net_worth_minor);
    let sheet = &report.balance_sheet;
    println!("Unified 360 ({today})");
    println!(
        "  net worth         {:>14}   (30-day change {})",
        gbp(view.net_worth.total_minor),
        gbp(view.net_worth.change_30d_minor)
    );
    println!(
        "  assets / debt     {:>14} / {}",
        gbp(sheet.total_assets_minor),
        gbp(sheet.total_debt_minor)
    );
    for (group, minor) in &sheet.by_group {
        println!("    {:<15} {:>14}", format!("{group:?}"), gbp(*minor));
    }
    println!(
        "  cash flow         {:?}, {} days of runway, safe to spend {}",
        view.cash_flow.status,
        view.cash_flow.days_runway.map_or("∞".to_owned(), |d| d.to_string()),
        gbp(view.cash_flow.safe_to_spend_minor)
    );
    println!("  solvency score    {} / 1000", report.solvency_score);
    for notice in view.alerts.iter().chain(&view.insights) {
        println!("  {:<17} {}", notice.kind, notice.message);
    }
    Ok(())
}

#[allow(clippy::print_stdout, reason = "an example talks to its reader")]
fn print_cashflow(flow: &fintra_twin::CashflowReport) {
    println!("\nRecurring streams (detected from the history)");
    for s in &flow.streams {
        let sign = if s.flow == FlowType::Income { "+" } else { "-" };
        println!(
            "  {:<7} {:<22} {:>12} {:<9} next {}  confidence {:.2}  ({} seen)",
            format!("{:?}", s.flow),
            s.merchant,
            format!("{sign}{}", gbp(s.amount_minor)),
            format!("{:?}", s.frequency),
            s.next_expected_date,
            s.confidence_score,
            s.occurrences
        );
    }
    if let Some((from, to)) = flow.window {
        println!("\nMonthly averages over {from} … {to}");
    }
    println!("  income            {:>12}", gbp(flow.monthly_income_minor));
    println!(
        "  burn              {:>12}   (all spending, net of refunds)",
        gbp(flow.monthly_burn_minor)
    );
    println!("  essential spend   {:>12}", gbp(flow.essential_spend_minor));
    println!(
        "  free cash flow    {:>12}   (income − essential spend)",
        gbp(flow.free_cash_flow_minor)
    );
}

#[allow(clippy::print_stdout, reason = "an example talks to its reader")]
async fn print_time_travel_and_forks<S: EventStore>(
    twin: &Twin<S>,
    flow: &fintra_twin::CashflowReport,
) -> Result<(), Failure> {
    let (repository, stream, today) = (&twin.repository, &twin.stream, twin.today);
    let past = NaiveDate::from_ymd_opt(2024, 3, 31).ok_or("date")?;
    let then = fintra_twin::report(&fintra_twin::as_of(repository, stream, past).await?, past);
    println!("\nTime travel: the twin as of {past}");
    println!(
        "  net worth {}   debt {}   burn {}/month   free cash flow {}/month",
        gbp(then.balance_sheet.net_worth_minor),
        gbp(then.balance_sheet.total_debt_minor),
        gbp(then.cashflow.monthly_burn_minor),
        gbp(then.cashflow.free_cash_flow_minor)
    );
    println!("\nWhat-if forks (replayed in memory; the live twin is untouched)");
    let car = WhatIf::Without {
        transaction_id: format!("plaid:{}", examples::sample_data::CAR_DEPOSIT_ID),
    };
    let no_car = fintra_twin::what_if(repository, stream, &car, today).await?;
    println!(
        "  without the car deposit: net worth {} → {} (+{})",
        gbp(no_car.net_worth_live_minor),
        gbp(no_car.net_worth_branch_minor),
        gbp(no_car.net_worth_branch_minor - no_car.net_worth_live_minor)
    );
    let salary =
        flow.streams.iter().find(|s| s.flow == FlowType::Income).ok_or("no income stream")?;
    let raise = WhatIf::IncomeRaise {
        merchant: salary.merchant.clone(),
        from: NaiveDate::from_ymd_opt(2024, 7, 1).ok_or("date")?,
        percent: 10,
    };
    let richer = fintra_twin::what_if(repository, stream, &raise, today).await?;
    println!(
        "  with a 10% rise of \"{}\" from 2024-07: net worth {} → {}, free cash flow {} → {} per month",
        salary.merchant,
        gbp(richer.net_worth_live_minor),
        gbp(richer.net_worth_branch_minor),
        gbp(richer.free_cash_flow_live_minor),
        gbp(richer.free_cash_flow_branch_minor)
    );
    Ok(())
}

/// Net worth every week of the period, by time travel, as an SVG chart.
#[allow(clippy::print_stdout, reason = "an example talks to its reader")]
async fn write_chart<S: EventStore>(twin: &Twin<S>, out: &Path) -> Result<(), Failure> {
    let mut days = Vec::new();
    let mut day = twin.first_day;
    while day <= twin.today {
        days.push(day);
        day += Duration::days(7);
    }
    days.push(twin.today);
    let timeline = net_worth_timeline(&twin.repository, &twin.stream, &days).await?;
    std::fs::create_dir_all(out)?;
    let chart = out.join("net_worth.svg");
    std::fs::write(&chart, svg(&timeline))?;
    println!(
        "\nNet worth over time ({} points, by time travel) written to {}",
        timeline.len(),
        chart.display()
    );
    Ok(())
}

/// A line chart of (day, minor units) as a standalone SVG.
#[allow(clippy::cast_precision_loss, reason = "pixel coordinates")]
fn svg(points: &[(NaiveDate, i128)]) -> String {
    let (w, h, pad) = (900.0_f64, 360.0_f64, 60.0_f64);
    let lo = points.iter().map(|p| p.1).min().unwrap_or(0);
    let hi = points.iter().map(|p| p.1).max().unwrap_or(1).max(lo + 1);
    let n = points.len().max(2) - 1;
    let to_f = |minor: i128| i64::try_from(minor / 100).map_or(0.0, |v| v as f64);
    let x = |i: usize| pad + (w - 2.0 * pad) * (i as f64) / (n as f64);
    let y = |v: i128| h - pad - (h - 2.0 * pad) * (to_f(v - lo) / to_f(hi - lo).max(1.0));
    let path: Vec<String> =
        points.iter().enumerate().map(|(i, p)| format!("{:.1},{:.1}", x(i), y(p.1))).collect();
    let mut out = format!(
        "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{w}\" height=\"{h}\" viewBox=\"0 0 {w} {h}\" font-family=\"sans-serif\" font-size=\"12\">\n<rect width=\"100%\" height=\"100%\" fill=\"white\"/>\n<text x=\"{pad}\" y=\"24\" font-size=\"16\">Net worth (GBP), fintra Financial Twin</text>\n"
    );
    out += &format!(
        "<line x1=\"{pad}\" y1=\"{0}\" x2=\"{1}\" y2=\"{0}\" stroke=\"#999\"/>\n",
        h - pad,
        w - pad
    );
    out += &format!(
        "<line x1=\"{pad}\" y1=\"{pad}\" x2=\"{pad}\" y2=\"{}\" stroke=\"#999\"/>\n",
        h - pad
    );
    for (label, value) in [(gbp(hi), hi), (gbp(lo), lo)] {
        out += &format!("<text x=\"4\" y=\"{:.1}\">{label}</text>\n", y(value) + 4.0);
    }
    for i in [0, n / 2, n] {
        if let Some((day, _)) = points.get(i) {
            out += &format!(
                "<text x=\"{:.1}\" y=\"{}\" text-anchor=\"middle\">{day}</text>\n",
                x(i),
                h - pad + 18.0
            );
        }
    }
    out += &format!(
        "<polyline fill=\"none\" stroke=\"#1f6feb\" stroke-width=\"2\" points=\"{}\"/>\n</svg>\n",
        path.join(" ")
    );
    out
}
