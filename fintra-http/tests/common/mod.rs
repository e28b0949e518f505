//! A six-month twin of tenant `acme`, its views in memory, and a server on a free port.

#![allow(clippy::unwrap_used, reason = "test helpers fail the test on a setup error")]
#![allow(dead_code, reason = "each test binary uses a part of the helpers")]
#![allow(unreachable_pub, reason = "shared by the test binaries, not an API")]

use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, TimeZone, Utc};
use fintra_core::{
    Asset, EventMetadata, EventStore, InMemoryEventStore, ManualClock, Position, Repository,
    StreamId, TenantId,
};
use fintra_http::{PulseHub, PulseOptions, ViewsApi};
use fintra_projections::views::TwinViews;
use fintra_projections::{ProjectionRunner, RunnerOptions, SharedViews, SharedViewsSink};
use fintra_twin::connect::{BadRecordPolicy, plaid, stage};
use fintra_twin::fos::Source;
use fintra_twin::{Profile, ProfileCommand};

pub const TENANT: &str = "acme";

pub fn now() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2024, 6, 30, 12, 0, 0).unwrap()
}

pub fn meta() -> EventMetadata {
    EventMetadata { tenant_id: TenantId::new(TENANT).unwrap(), ..EventMetadata::default() }
}

/// Plaid bodies for six months of salary, rent, groceries and coffee (plus `extra` months).
pub fn plaid_body(months: std::ops::RangeInclusive<u32>) -> (String, String) {
    let accounts = r#"{"accounts": [{"account_id": "chk", "name": "Current", "type": "depository", "subtype": "checking",
        "balances": {"current": 2500.00, "available": 2500.00, "iso_currency_code": "GBP"}}]}"#;
    let mut txns = Vec::new();
    for m in months {
        for (k, (name, amount, day)) in [
            ("ACME SALARY", "-3000.00", 25),
            ("RENT OCEAN LTD", "1500.00", 1),
            ("TESCO STORES 3021", "80.00", 10),
            ("SQ *STARBUCKS #1123", "4.50", 12),
            ("SAINSBURYS S/MKT", "55.20", 18),
        ]
        .iter()
        .enumerate()
        {
            txns.push(format!(
                r#"{{"transaction_id": "t{m}_{k}", "account_id": "chk", "amount": {amount}, "iso_currency_code": "GBP", "date": "2024-{m:02}-{day:02}", "name": "{name}", "merchant_name": null, "pending": false, "pending_transaction_id": null}}"#
            ));
        }
    }
    (accounts.to_owned(), format!(r#"{{"accounts": [], "transactions": [{}]}}"#, txns.join(",")))
}

/// Imports `months` of the Plaid sample into `stream` (creating the profile first if new).
pub async fn import<S: EventStore>(
    repository: &Repository<Profile, S>,
    stream: &StreamId,
    months: std::ops::RangeInclusive<u32>,
) {
    let current = repository.load(stream).await.unwrap();
    if current.version.get() == 0 {
        let create =
            ProfileCommand::Create { profile_id: "usr_1".into(), base_currency: Asset::GBP };
        repository.execute(stream, &create, &meta()).await.unwrap();
    }
    let (accounts_json, body) = plaid_body(months);
    let accounts = plaid::accounts(accounts_json.as_bytes(), None, BadRecordPolicy::FailDocument)
        .unwrap()
        .records;
    let txns =
        plaid::transactions(body.as_bytes(), &accounts, now(), BadRecordPolicy::FailDocument)
            .unwrap()
            .records;
    let current = repository.load(stream).await.unwrap().state;
    let mut staged = stage(
        &current,
        fintra_core::IdGenerator::next_id(&fintra_core::UuidV7Generator),
        Source::Plaid,
        accounts,
        txns,
    );
    staged.categorise(&fintra_ml::Brain::builtin().unwrap(), Some(stream.as_str()), now());
    staged.approve(repository, stream, &meta(), |_, _| {}).await.unwrap();
}

/// A server on the in-memory store with views and the Pulse feed kept live.
pub struct Served {
    pub base: String,
    pub id: String,
    pub stream: StreamId,
    pub store: Arc<InMemoryEventStore>,
    pub repository: Repository<Profile, Arc<InMemoryEventStore>>,
    pub views: SharedViews,
    pub hub: PulseHub,
    pub client: reqwest::Client,
}

impl Served {
    pub fn url(&self, path: &str) -> String {
        format!("{}/v1/profile/{}{path}", self.base, self.id)
    }

    pub async fn get(&self, path: &str) -> reqwest::Response {
        self.client.get(self.url(path)).header("x-tenant-id", TENANT).send().await.unwrap()
    }

    /// Waits until the views reflect everything appended so far.
    pub async fn settle(&self) {
        let head = head(self.store.as_ref()).await;
        for _ in 0..500 {
            if self.views.checkpoint() >= head && self.hub.through() >= head {
                return;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        panic!("the views did not reach position {head:?} within 5 s");
    }
}

/// The position of the log's last event.
pub async fn head<S: EventStore + ?Sized>(store: &S) -> Position {
    let mut after = Position::START;
    loop {
        let page = store.read_all(after, 1_000).await.unwrap();
        match page.last() {
            Some(last) => after = last.position,
            None => return after,
        }
    }
}

pub fn runner_options() -> RunnerOptions {
    RunnerOptions { poll_interval: Duration::from_millis(20), ..RunnerOptions::default() }
}

/// Serves `api(…)` on a free loopback port.
pub async fn serve(router: axum::Router) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, router).await.unwrap() });
    format!("http://{address}")
}

/// The six-month twin served with `customise` applied to the API.
pub async fn served_with(
    options: PulseOptions,
    customise: impl FnOnce(ViewsApi) -> axum::Router,
) -> Served {
    let store = Arc::new(InMemoryEventStore::new());
    let clock = Arc::new(ManualClock::new(now()));
    let repository = Repository::<Profile, _>::new(store.clone()).with_clock(clock);
    let id = uuid::Uuid::from_u128(0x51).to_string();
    let stream = StreamId::new(format!("profile-{id}")).unwrap();
    import(&repository, &stream, 1..=6).await;
    let views = SharedViews::new();
    let mut sink =
        SharedViewsSink::new(TwinViews::new(Repository::new(store.clone())), views.clone());
    let runner = ProjectionRunner::new(store.clone(), runner_options());
    tokio::spawn(async move { runner.run(&mut sink, None, std::future::pending()).await });
    let hub = PulseHub::new(store.clone(), options);
    let mut feed = hub.sink(Position::START);
    let runner = ProjectionRunner::new(store.clone(), runner_options());
    tokio::spawn(async move { runner.run(&mut feed, None, std::future::pending()).await });
    let twins = fintra_http::TwinCache::new(Repository::<Profile, _>::new(store.clone()), 8);
    let api = ViewsApi::new(views.clone(), twins).with_pulse(hub.clone());
    let base = serve(customise(api)).await;
    let served =
        Served { base, id, stream, store, repository, views, hub, client: reqwest::Client::new() };
    served.settle().await;
    served
}

pub async fn served() -> Served {
    served_with(PulseOptions::default(), ViewsApi::router).await
}

/// A stand-in for a host's authentication layer: `x-api-key: <name>` becomes the accessor
/// `<name>` of tenant `acme` in the request's extensions.
pub async fn api_keys(
    mut request: axum::extract::Request,
    next: axum::middleware::Next,
) -> axum::response::Response {
    if let Some(key) = request.headers().get("x-api-key").and_then(|v| v.to_str().ok()) {
        let accessor =
            fintra_guard::Accessor { id: key.to_owned(), tenant: TenantId::new(TENANT).unwrap() };
        request.extensions_mut().insert(accessor);
    }
    next.run(request).await
}

/// A consent grant of `scopes` over `profile` to `accessor`, valid from an hour ago for 30 days.
pub async fn grant<S: EventStore + 'static>(
    registry: &fintra_guard::ConsentRegistry<S>,
    accessor: &str,
    profile: &str,
    scopes: &[fintra_guard::Scope],
) {
    let app =
        fintra_guard::Accessor { id: accessor.to_owned(), tenant: TenantId::new(TENANT).unwrap() };
    let now = fintra_core::Clock::now(&fintra_core::SystemClock);
    let (from, to) = (now - chrono::Duration::hours(1), now + chrono::Duration::days(30));
    registry.grant(&app, profile, scopes, from, to, &meta()).await.unwrap();
}
