//! Pulse over SSE: appended events reach the browser-facing stream, a reconnect with
//! `Last-Event-ID` gets exactly what it missed, and a client that stops reading is dropped with
//! a reason instead of holding anything up.

#![allow(clippy::unwrap_used, reason = "tests fail on a setup error")]

mod common;

use std::time::Duration;

use common::{TENANT, meta, served, served_with};
use fintra_core::{
    ContentType, EventStore, ExpectedVersion, NewEvent, Position, StreamId, TenantId,
};
use fintra_http::PulseOptions;
use futures::StreamExt as _;

fn insight(n: u32) -> NewEvent {
    NewEvent {
        event_id: fintra_core::IdGenerator::next_id(&fintra_core::UuidV7Generator),
        event_type: "brain.insight.test".into(),
        schema_version: 1,
        occurred_at: fintra_core::Clock::now(&fintra_core::SystemClock),
        metadata: meta(),
        content_type: ContentType::json(),
        payload: serde_json::to_vec(&serde_json::json!({ "n": n })).unwrap().into(),
    }
}

/// One parsed SSE event.
#[derive(Debug)]
struct Sse {
    id: Option<String>,
    event: String,
    data: String,
}

/// Reads SSE events from a response body.
struct Reader {
    body: std::pin::Pin<Box<dyn futures::Stream<Item = reqwest::Result<bytes::Bytes>> + Send>>,
    buffer: String,
}

impl Reader {
    fn new(response: reqwest::Response) -> Self {
        Self { body: Box::pin(response.bytes_stream()), buffer: String::new() }
    }

    /// The next event (skipping heartbeat comments), or `None` at the end of the stream.
    async fn next(&mut self) -> Option<Sse> {
        loop {
            while let Some(end) = self.buffer.find("\n\n") {
                let block: String = self.buffer.drain(..end + 2).collect();
                let (mut id, mut event, mut data) = (None, String::from("message"), Vec::new());
                for line in block.lines() {
                    if let Some(v) = line.strip_prefix("id:") {
                        id = Some(v.trim().to_owned())
                    }
                    if let Some(v) = line.strip_prefix("event:") {
                        event = v.trim().to_owned()
                    }
                    if let Some(v) = line.strip_prefix("data:") {
                        data.push(v.trim_start().to_owned())
                    }
                }
                if !data.is_empty() {
                    return Some(Sse { id, event, data: data.join("\n") });
                }
            }
            let chunk =
                tokio::time::timeout(Duration::from_secs(5), self.body.next()).await.ok()??;
            self.buffer.push_str(&String::from_utf8_lossy(&chunk.unwrap()));
        }
    }
}

async fn open(s: &common::Served, last_event_id: Option<&str>) -> Reader {
    let mut request = s.client.get(s.url(&format!("/events?tenant_id={TENANT}")));
    if let Some(id) = last_event_id {
        request = request.header("last-event-id", id);
    }
    let response = request.send().await.unwrap();
    assert_eq!(response.status(), reqwest::StatusCode::OK);
    assert_eq!(response.headers()["content-type"], "text/event-stream");
    Reader::new(response)
}

#[tokio::test]
async fn appended_events_stream_live_and_resume_from_the_last_event_id() {
    let s = served().await;
    let brain = StreamId::new(format!("brain-{}", s.id)).unwrap();
    let mut reader = open(&s, None).await;
    let started = std::time::Instant::now();
    s.store.append(&brain, ExpectedVersion::Any, &[insight(1)]).await.unwrap();
    let first = reader.next().await.expect("the appended event");
    assert_eq!(first.event, "message", "unnamed, so EventSource.onmessage sees it");
    let envelope: serde_json::Value = serde_json::from_str(&first.data).unwrap();
    assert_eq!(envelope["type"], "brain.insight.test");
    assert_eq!(envelope["data"]["n"], 1);
    assert_eq!(envelope["user"]["profile_id"], s.id.as_str());
    assert!(started.elapsed() < Duration::from_secs(1), "took {:?}", started.elapsed());
    let last_id = first.id.unwrap();
    drop(reader);

    // Missed while disconnected: two insights, a twin event, and another profile's event.
    s.store.append(&brain, ExpectedVersion::Any, &[insight(2), insight(3)]).await.unwrap();
    common::import(&s.repository, &s.stream, 7..=7).await;
    let other = StreamId::new("brain-someone-else").unwrap();
    s.store.append(&other, ExpectedVersion::Any, &[insight(99)]).await.unwrap();
    s.settle().await;
    let mut reader = open(&s, Some(&last_id)).await;
    // Then live again: append one more once the replay has been read.
    let mut got: Vec<(String, u64, serde_json::Value)> = Vec::new();
    let mut live_appended = false;
    loop {
        let e = reader.next().await.expect("every missed event, then the live one");
        let envelope: serde_json::Value = serde_json::from_str(&e.data).unwrap();
        let kind = envelope["type"].as_str().unwrap().to_owned();
        got.push((kind, e.id.unwrap().parse().unwrap(), envelope["data"]["n"].clone()));
        if envelope["data"]["n"] == 4 {
            break;
        }
        if !live_appended && envelope["data"]["n"] == 3 {
            s.store.append(&brain, ExpectedVersion::Any, &[insight(4)]).await.unwrap();
            live_appended = true;
        }
    }
    let ids: Vec<u64> = got.iter().map(|g| g.1).collect();
    assert!(
        ids[0] > last_id.parse::<u64>().unwrap(),
        "nothing already sent is sent again: {got:?}"
    );
    assert!(ids.windows(2).all(|w| w[0] < w[1]), "in log order, no repeats: {got:?}");
    let insights: Vec<&serde_json::Value> =
        got.iter().filter(|g| g.0 == "brain.insight.test").map(|g| &g.2).collect();
    assert_eq!(
        insights,
        [2, 3, 4],
        "the missed insights, then the live one; never another profile's"
    );
    assert!(got.iter().any(|g| g.0 == "core.transactions.imported"), "the twin's import: {got:?}");
}

#[tokio::test]
async fn a_client_that_stops_reading_is_dropped_with_a_reason_and_the_log_goes_on() {
    let s = served_with(
        PulseOptions { buffer: 4, ..PulseOptions::default() },
        fintra_http::ViewsApi::router,
    )
    .await;
    let brain = StreamId::new(format!("brain-{}", s.id)).unwrap();
    let tenant = TenantId::new(TENANT).unwrap();
    let mut slow = s.hub.feed(tenant.clone(), &s.id, None);
    let mut fast = s.hub.feed(tenant, &s.id, None);
    let mut fast_got = 0;
    for n in 0..20 {
        s.store.append(&brain, ExpectedVersion::Any, &[insight(n)]).await.unwrap();
        s.settle().await;
        match fast.next().await.unwrap() {
            fintra_http::pulse::FeedItem::Event(_) => fast_got += 1,
            other => panic!("the fast feed closed: {other:?}"),
        }
    }
    assert_eq!(fast_got, 20, "a slow client does not slow the others");
    match slow.next().await.unwrap() {
        fintra_http::pulse::FeedItem::Close { reason, resume_from } => {
            assert_eq!(reason, "slow_consumer");
            assert!(resume_from > Position::START);
        }
        other => panic!("expected a close, got {other:?}"),
    }
    assert!(slow.next().await.is_none(), "nothing after the close");
}

#[tokio::test]
async fn the_feed_refuses_other_tenants_and_bad_ids() {
    let s = served().await;
    let url = s.url("/events?tenant_id=globex");
    let response = s.client.get(url).send().await.unwrap();
    assert_eq!(response.status(), reqwest::StatusCode::NOT_FOUND);
    let url = s.url(&format!("/events?tenant_id={TENANT}"));
    let response = s.client.get(url).header("last-event-id", "yesterday").send().await.unwrap();
    assert_eq!(response.status(), reqwest::StatusCode::BAD_REQUEST);
    let body: serde_json::Value = response.json().await.unwrap();
    assert_eq!(body["error"]["details"]["parameter"], "Last-Event-ID");
}

/// A store whose log pages hold one event whatever the limit (the contract allows short pages).
struct ShortPages(std::sync::Arc<fintra_core::InMemoryEventStore>);

#[async_trait::async_trait]
impl EventStore for ShortPages {
    async fn append(
        &self,
        stream: &StreamId,
        expected: ExpectedVersion,
        events: &[NewEvent],
    ) -> fintra_core::Result<fintra_core::AppendResult> {
        self.0.append(stream, expected, events).await
    }

    async fn read_stream(
        &self,
        stream: &StreamId,
        options: fintra_core::ReadStreamOptions,
    ) -> fintra_core::Result<Vec<fintra_core::RecordedEvent>> {
        self.0.read_stream(stream, options).await
    }

    async fn read_all(
        &self,
        after: Position,
        _limit: usize,
    ) -> fintra_core::Result<Vec<fintra_core::RecordedEvent>> {
        self.0.read_all(after, 1).await
    }

    async fn stream_version(
        &self,
        stream: &StreamId,
    ) -> fintra_core::Result<fintra_core::StreamVersion> {
        self.0.stream_version(stream).await
    }
}

/// A hub over `reader` fed to the log's head, after `n` insights on profile `p1`'s brain
/// stream interleaved with another profile's.
async fn hub_with_history(
    store: &std::sync::Arc<fintra_core::InMemoryEventStore>,
    reader: std::sync::Arc<dyn EventStore>,
    options: PulseOptions,
    n: u32,
) -> fintra_http::PulseHub {
    let mine = StreamId::new("brain-p1").unwrap();
    let other = StreamId::new("brain-p2").unwrap();
    for k in 0..n {
        store.append(&mine, ExpectedVersion::Any, &[insight(k)]).await.unwrap();
        store.append(&other, ExpectedVersion::Any, &[insight(1_000 + k)]).await.unwrap();
    }
    let hub = fintra_http::PulseHub::new(reader, options);
    feed_hub(&hub, store, Position::START).await;
    hub
}

/// Runs the hub's sink over the log from `from` to its head.
async fn feed_hub(
    hub: &fintra_http::PulseHub,
    store: &std::sync::Arc<fintra_core::InMemoryEventStore>,
    from: Position,
) {
    let mut sink = hub.sink(from);
    let runner = fintra_projections::ProjectionRunner::new(store.clone(), common::runner_options());
    runner.catch_up(&mut sink).await.unwrap();
}

/// Everything a feed yields until it has been quiet for 300 ms.
async fn drain(feed: &mut fintra_http::pulse::Feed) -> Vec<fintra_http::pulse::FeedItem> {
    let mut out = Vec::new();
    while let Ok(Some(item)) = tokio::time::timeout(Duration::from_millis(300), feed.next()).await {
        out.push(item);
    }
    out
}

fn insight_number(item: &fintra_http::pulse::FeedItem) -> serde_json::Value {
    match item {
        fintra_http::pulse::FeedItem::Event(e) => {
            serde_json::from_str::<serde_json::Value>(&e.envelope).unwrap()["data"]["n"].clone()
        }
        other => panic!("expected an event, got {other:?}"),
    }
}

#[tokio::test]
async fn a_replay_over_short_pages_misses_nothing() {
    let store = std::sync::Arc::new(fintra_core::InMemoryEventStore::new());
    let reader = std::sync::Arc::new(ShortPages(store.clone()));
    let options = PulseOptions { catch_up_page: 5, ..PulseOptions::default() };
    let hub = hub_with_history(&store, reader, options, 10).await;
    let first = store.read_all(Position::START, 1).await.unwrap()[0].position;
    let mut feed = hub.feed(TenantId::new(TENANT).unwrap(), "p1", Some(first));
    let got: Vec<serde_json::Value> = drain(&mut feed).await.iter().map(insight_number).collect();
    let expected: Vec<serde_json::Value> = (1..10).map(|n| serde_json::json!(n)).collect();
    assert_eq!(got, expected, "every insight after the first, once, in order");
}

#[tokio::test]
async fn a_resume_too_far_back_is_refused_with_where_to_go_on() {
    let store = std::sync::Arc::new(fintra_core::InMemoryEventStore::new());
    let options = PulseOptions { resume_positions_max: 5, ..PulseOptions::default() };
    let hub = hub_with_history(&store, store.clone(), options, 10).await;
    let tenant = TenantId::new(TENANT).unwrap();
    let mut feed = hub.feed(tenant.clone(), "p1", Some(Position(1)));
    match feed.next().await.unwrap() {
        fintra_http::pulse::FeedItem::Close { reason, resume_from } => {
            assert_eq!(reason, "resume_too_old");
            assert_eq!(resume_from, hub.through(), "resume from the feed's position");
        }
        other => panic!("expected a close, got {other:?}"),
    }
    assert!(feed.next().await.is_none());
    // An id beyond the feed is taken as the feed's position: live from there.
    let mut ahead = hub.feed(tenant, "p1", Some(Position(1_000_000)));
    let brain = StreamId::new("brain-p1").unwrap();
    store.append(&brain, ExpectedVersion::Any, &[insight(77)]).await.unwrap();
    feed_hub(&hub, &store, hub.through()).await;
    assert_eq!(insight_number(&ahead.next().await.unwrap()), 77);
}

#[tokio::test]
async fn an_open_stream_ends_when_consent_is_revoked() {
    use fintra_guard::{Accessor, ConsentRegistry, Scope};
    let grants = std::sync::Arc::new(fintra_core::InMemoryEventStore::new());
    let registry = ConsentRegistry::new(grants.clone());
    let recheck = Duration::from_millis(200);
    let options = PulseOptions { consent_recheck: recheck, ..PulseOptions::default() };
    let s = served_with(options, |api| {
        api.with_consent(ConsentRegistry::new(grants.clone()))
            .router()
            .layer(axum::middleware::from_fn(common::api_keys))
    })
    .await;
    common::grant(&registry, "feed-app", &s.id, &[Scope::ReadTransactions]).await;
    let url = s.url(&format!("/events?tenant_id={TENANT}"));
    let response = s.client.get(url).header("x-api-key", "feed-app").send().await.unwrap();
    assert_eq!(response.status(), reqwest::StatusCode::OK);
    let mut reader = Reader::new(response);
    let app = Accessor { id: "feed-app".into(), tenant: TenantId::new(TENANT).unwrap() };
    registry.revoke(&app, &s.id, "no more", &meta()).await.unwrap();
    let close = reader.next().await.expect("a close event");
    assert_eq!(close.event, "close");
    let body: serde_json::Value = serde_json::from_str(&close.data).unwrap();
    assert_eq!(body["reason"], "consent_revoked");
    assert!(close.id.is_some(), "the close says where to resume");
    assert!(reader.next().await.is_none(), "the stream ends");
}
