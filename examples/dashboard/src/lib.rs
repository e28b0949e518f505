//! The dashboard demo's server: the sample twin on the in-memory store, its Views kept live in
//! memory, the Pulse feed, fintra-http's routes, the page itself and two demo-only routes
//! (`/demo/forecast`, the Brain's balance forecast; `POST /demo/simulate`, one more month of
//! bank data). The `dashboard` example runs it; the browser test drives it.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use chrono::{Datelike, NaiveDate, TimeZone, Utc};
use examples::twin_import::{csv_file, import_normalised, plaid_files, yapily_files};
use fintra_core::{
    Clock, EventMetadata, EventStore, ExpectedVersion, InMemoryEventStore, ManualClock, Position,
    Repository, StreamId, TenantId,
};
use fintra_http::{PulseHub, PulseOptions, ViewsApi};
use fintra_ml::Brain;
use fintra_ml::forecast::{ForecastConfig, forecast_profile};
use fintra_ml::insight::{InsightRules, InsightState, Signals, brain_stream};
use fintra_projections::views::TwinViews;
use fintra_projections::{ProjectionRunner, RunnerOptions, SharedViews, SharedViewsSink};
use fintra_twin::connect::{BadRecordPolicy, plaid};
use fintra_twin::fos::Source;
use fintra_twin::{Profile, ProfileCommand};
use serde_json::json;

/// The tenant of the sample twin (single-tenant default).
pub const TENANT: &str = "default";

/// Why the demo could not start or answer.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct DemoError(String);

fn fail(e: impl std::fmt::Display) -> DemoError {
    DemoError(e.to_string())
}

type Twins = Repository<Profile, Arc<InMemoryEventStore>>;

/// The running demo.
#[derive(Debug)]
pub struct Dashboard {
    /// Where the page is (`http://127.0.0.1:8080`).
    pub url: String,
    /// The twin's profile id (its stream is `profile-<id>`).
    pub profile_id: String,
    /// The store, for tests that append.
    pub store: Arc<InMemoryEventStore>,
    /// The Views as the page reads them.
    pub views: SharedViews,
    /// The Pulse feed.
    pub hub: PulseHub,
}

struct Demo {
    twins: Twins,
    stream: StreamId,
    clock: Arc<ManualClock>,
    brain: Brain,
    insights: tokio::sync::Mutex<InsightState>,
    data_dir: PathBuf,
}

/// Loads the sample twin, starts the projections and serves everything on `address` (port 0
/// picks a free one). Returns once the Views reflect the whole sample.
///
/// # Errors
/// The sample did not load, or the address could not be bound.
pub async fn start(address: &str) -> Result<Dashboard, DemoError> {
    let store = Arc::new(InMemoryEventStore::new());
    let (_, last_day) = examples::sample_data::period();
    let clock = Arc::new(ManualClock::new(end_of(last_day)));
    let twins: Twins = Repository::new(store.clone()).with_clock(clock.clone());
    let id = uuid::Uuid::from_u128(0x7a11);
    let stream = twins.stream_id(id).map_err(fail)?;
    let demo = Arc::new(Demo {
        twins,
        stream,
        clock,
        brain: Brain::builtin().map_err(fail)?,
        insights: tokio::sync::Mutex::new(InsightState::default()),
        data_dir: PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../data"),
    });
    load_sample(&demo).await?;
    let views = SharedViews::new();
    let hub = PulseHub::new(store.clone(), PulseOptions::default());
    spawn_projections(&store, &views, &hub);
    let twins = fintra_http::TwinCache::new(Repository::<Profile, _>::new(store.clone()), 16);
    let api = ViewsApi::new(views.clone(), twins).with_pulse(hub.clone()).router();
    let app = api.merge(page_routes()).merge(demo_routes(demo.clone()));
    let listener = tokio::net::TcpListener::bind(address).await.map_err(fail)?;
    let url = format!("http://{}", listener.local_addr().map_err(fail)?);
    tokio::spawn(async move {
        if let Err(error) = axum::serve(listener, app).await {
            tracing::error!(%error, "the dashboard server stopped");
        }
    });
    let dashboard = Dashboard { url, profile_id: id.to_string(), store, views, hub };
    dashboard.wait_for_views().await?;
    Ok(dashboard)
}

impl Dashboard {
    /// Waits (up to 30 s) until the Views and the feed have seen the whole log.
    ///
    /// # Errors
    /// They did not catch up in time, or the log could not be read.
    pub async fn wait_for_views(&self) -> Result<(), DemoError> {
        let mut head = Position::START;
        loop {
            let page = self.store.read_all(head, 1_000).await.map_err(fail)?;
            match page.last() {
                Some(last) => head = last.position,
                None => break,
            }
        }
        for _ in 0..3_000 {
            if self.views.checkpoint() >= head && self.hub.through() >= head {
                return Ok(());
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        Err(DemoError(format!("the views did not reach position {} within 30 s", head.0)))
    }
}

fn end_of(day: NaiveDate) -> chrono::DateTime<Utc> {
    Utc.from_utc_datetime(&day.and_hms_opt(18, 0, 0).unwrap_or_default())
}

/// The flagship's sample: Plaid, Yapily and the credit-union CSV, and the flat's valuations.
async fn load_sample(demo: &Demo) -> Result<(), DemoError> {
    let create = ProfileCommand::Create {
        profile_id: "usr_ada".into(),
        base_currency: fintra_core::Asset::GBP,
    };
    demo.twins.execute(&demo.stream, &create, &EventMetadata::default()).await.map_err(fail)?;
    let now = demo.clock.now();
    let dir = &demo.data_dir;
    let sources = [plaid_files(dir, now), yapily_files(dir, now), csv_file(dir, now)];
    for (k, data) in sources.into_iter().enumerate() {
        let data = data.map_err(fail)?;
        let import_id = uuid::Uuid::from_u128(0x1000 + k as u128);
        import_normalised(&demo.twins, &demo.stream, &demo.brain, now, import_id, data, |_, _| {})
            .await
            .map_err(fail)?;
    }
    for asset in examples::twin_import::sample_flat() {
        let command = ProfileCommand::ValueManualAsset(asset);
        demo.twins
            .execute(&demo.stream, &command, &EventMetadata::default())
            .await
            .map_err(fail)?;
    }
    Ok(())
}

/// The Views and the feed, each a projection runner following the store.
fn spawn_projections(store: &Arc<InMemoryEventStore>, views: &SharedViews, hub: &PulseHub) {
    let options =
        RunnerOptions { poll_interval: Duration::from_millis(10), ..RunnerOptions::default() };
    let mut sink =
        SharedViewsSink::new(TwinViews::new(Repository::new(store.clone())), views.clone());
    let runner = ProjectionRunner::new(store.clone(), options.clone());
    tokio::spawn(async move {
        if let Err(error) = runner.run(&mut sink, None, std::future::pending()).await {
            tracing::error!(%error, "the views projection stopped");
        }
    });
    let mut feed = hub.sink(Position::START);
    let runner = ProjectionRunner::new(store.clone(), options);
    tokio::spawn(async move {
        if let Err(error) = runner.run(&mut feed, None, std::future::pending()).await {
            tracing::error!(%error, "the pulse feed stopped");
        }
    });
}

fn page_routes() -> Router {
    let file = |content_type: &'static str, body: &'static str| {
        move || async move { ([(header::CONTENT_TYPE, content_type)], body) }
    };
    Router::new()
        .route("/", get(file("text/html; charset=utf-8", include_str!("../static/index.html"))))
        .route(
            "/app.js",
            get(file("text/javascript; charset=utf-8", include_str!("../static/app.js"))),
        )
        .route(
            "/style.css",
            get(file("text/css; charset=utf-8", include_str!("../static/style.css"))),
        )
}

fn demo_routes(demo: Arc<Demo>) -> Router {
    Router::new()
        .route("/demo/config", get(config))
        .route("/demo/forecast", get(forecast))
        .route("/demo/simulate", post(simulate))
        .with_state(demo)
}

fn error(status: StatusCode, message: impl std::fmt::Display) -> Response {
    let body =
        json!({ "error": { "code": "DEMO", "message": message.to_string(), "details": null } });
    (status, axum::Json(body)).into_response()
}

async fn config(State(demo): State<Arc<Demo>>) -> Response {
    let id = demo.stream.as_str().trim_start_matches("profile-");
    axum::Json(json!({ "profile_id": id, "tenant": TENANT })).into_response()
}

/// The Brain's 90-day cash balance forecast with its P10–P90 band, from the latest transaction.
async fn forecast(State(demo): State<Arc<Demo>>) -> Response {
    let twin = match demo.twins.load(&demo.stream).await {
        Ok(twin) => twin.state,
        Err(e) => return error(StatusCode::SERVICE_UNAVAILABLE, e),
    };
    let Some(today) = twin.last_transaction_date() else {
        return axum::Json(json!({ "error": "no transactions yet" })).into_response();
    };
    match forecast_profile(&twin, today, &ForecastConfig::default()) {
        Ok(f) => axum::Json(json!({
            "as_of": f.as_of,
            "opening_balance_minor": f.opening_balance_minor,
            "days": f.days,
            "days_until_zero_p10": f.days_until_zero_p10,
        }))
        .into_response(),
        Err(e) => axum::Json(json!({ "error": e.to_string() })).into_response(),
    }
}

/// Imports the month after the twin's latest transaction (generated like the sample), then lets
/// the Brain look at the new month and appends what it says to the profile's Brain stream.
async fn simulate(State(demo): State<Arc<Demo>>, headers: axum::http::HeaderMap) -> Response {
    // A custom header a cross-site form cannot send: only the page (or a deliberate client)
    // can trigger an import.
    if headers.get("x-requested-with").is_none_or(|v| v != "fintra-dashboard") {
        return error(StatusCode::FORBIDDEN, "send x-requested-with: fintra-dashboard");
    }
    // The import runs on its own task: a client that disconnects midway cannot cancel it half
    // done (its transactions in, the Brain's events not). One simulation at a time.
    let task = tokio::spawn(async move {
        let mut insights = demo.insights.lock().await;
        simulate_month(&demo, &mut insights).await
    });
    match task.await {
        Ok(Ok(body)) => axum::Json(body).into_response(),
        Ok(Err(e)) => error(StatusCode::INTERNAL_SERVER_ERROR, e),
        Err(e) => error(StatusCode::INTERNAL_SERVER_ERROR, e),
    }
}

async fn simulate_month(
    demo: &Demo,
    insights: &mut InsightState,
) -> Result<serde_json::Value, DemoError> {
    let twin = demo.twins.load(&demo.stream).await.map_err(fail)?.state;
    let last = twin.last_transaction_date().ok_or_else(|| DemoError("no transactions".into()))?;
    let month =
        last.with_day(1).and_then(|d| d.checked_add_months(chrono::Months::new(1))).unwrap_or(last);
    let month_end = month
        .checked_add_months(chrono::Months::new(1))
        .map_or(month, |m| m - chrono::Duration::days(1));
    demo.clock.set(end_of(month_end));
    let now = demo.clock.now();
    let accounts_file = std::fs::read(demo.data_dir.join("plaid_accounts.json")).map_err(fail)?;
    let accounts = plaid::accounts(&accounts_file, Some("ins_northbank"), BadRecordPolicy::Skip)
        .map_err(fail)?
        .records;
    let body = examples::sample_data::plaid_month(month);
    let transactions = plaid::transactions(body.as_bytes(), &accounts, now, BadRecordPolicy::Skip)
        .map_err(fail)?
        .records;
    let data = examples::twin_import::Normalised {
        source: Source::Plaid,
        accounts,
        transactions,
        rejected: Vec::new(),
    };
    let import_id = uuid::Uuid::from_u128(
        0x2000 + u128::from(month.month()) + 100 * u128::from(month.year().unsigned_abs()),
    );
    let staged =
        import_normalised(&demo.twins, &demo.stream, &demo.brain, now, import_id, data, |_, _| {})
            .await
            .map_err(fail)?;
    let twin = demo.twins.load(&demo.stream).await.map_err(fail)?.state;
    let forecast = forecast_profile(&twin, month_end, &ForecastConfig::default()).ok();
    let events = Signals::from_profile(&twin, month_end, forecast)
        .map(|s| insights.evaluate(&InsightRules::default(), &s))
        .unwrap_or_default();
    let tenant = TenantId::new(TENANT).map_err(fail)?;
    let brain = brain_stream(&demo.stream).map_err(fail)?;
    let mut appended = Vec::new();
    for event in &events {
        appended.push(event.new_event(&demo.stream, &tenant, month_end).map_err(fail)?);
    }
    if !appended.is_empty() {
        demo.twins.store().append(&brain, ExpectedVersion::Any, &appended).await.map_err(fail)?;
    }
    Ok(json!({
        "month": format!("{:04}-{:02}", month.year(), month.month()),
        "new_transactions": staged.report.new_transactions,
        "brain_events": events.iter().map(|e| e.event_type()).collect::<Vec<_>>(),
    }))
}
