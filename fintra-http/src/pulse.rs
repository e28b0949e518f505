//! Pulse over server-sent events: a profile's events (`core.*` from its twin stream, `brain.*`
//! and Pulse signals from `brain-<id>` and `pulse-<id>`) pushed to browsers as they are appended.
//!
//! One [`PulseHub`] per process follows the log with the projection runner (so it inherits the
//! runner's gap-safe catch-up and its live wake) and fans each event out on a bounded broadcast
//! channel. Each connection:
//!
//! 1. subscribes to the hub, then reads the hub's position `P`;
//! 2. with `Last-Event-ID: N` (or `?last_event_id=N`), replays this profile's events after `N`
//!    up to `P` from the event store — nothing the client missed is skipped, and the runner has
//!    already seen every position up to `P`, so the read has no gaps;
//! 3. goes live from the broadcast, skipping anything it already sent.
//!
//! Each event is an unnamed SSE event (a browser's `onmessage` sees all of them) whose `id` is
//! its log position and whose `data` is the Pulse envelope, with the type in `type`. A client whose socket does not keep up
//! falls behind the broadcast buffer; it then gets one `close` event (`{"reason":
//! "slow_consumer", "resume_from": "<id>"}`) and the stream ends. The log and other clients never
//! wait for it; a reconnect with `Last-Event-ID` resumes exactly where it stopped.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use async_trait::async_trait;
use axum::response::sse::Event;
use fintra_core::{EventStore, Position, RecordedEvent, TenantId};
use fintra_projections::pulse::{Envelope, EnvelopeUser};
use fintra_projections::{ProjectionError, Sink};
use tokio::sync::broadcast;

/// Stream categories whose events reach a profile's feed.
const CATEGORIES: [&str; 3] = ["profile", "pulse", "brain"];

/// Hub and connection settings.
#[derive(Clone, Debug)]
pub struct PulseOptions {
    /// Events the broadcast holds for the slowest connection before dropping it.
    pub buffer: usize,
    /// Interval of the `: heartbeat` comments that keep proxies and idle sockets alive.
    pub heartbeat: Duration,
    /// Events read per page while a resuming connection catches up from the store.
    pub catch_up_page: usize,
    /// Largest event payload sent as `data`; a bigger one is sent as `{"omitted": …}` (read
    /// it through the Views).
    pub payload_bytes_max: usize,
    /// The envelope's `api_version`.
    pub api_version: String,
    /// How far back (in log positions) a resuming connection may replay; an older
    /// `Last-Event-ID` gets a `resume_too_old` close (the client reloads the Views instead).
    pub resume_positions_max: u64,
    /// How often an open stream checks the caller's consent again (when consent is on): a
    /// revocation ends the stream within this interval (`consent_revoked`).
    pub consent_recheck: Duration,
}

impl Default for PulseOptions {
    fn default() -> Self {
        Self {
            buffer: 1_024,
            heartbeat: Duration::from_secs(15),
            catch_up_page: 500,
            payload_bytes_max: 64 * 1024,
            api_version: "2023-11-01".into(),
            resume_positions_max: 1_000_000,
            consent_recheck: Duration::from_secs(10),
        }
    }
}

/// One event of a profile's feed, ready to send.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PulseItem {
    /// Its log position (the SSE `id`).
    pub position: Position,
    /// The profile it belongs to (the id after the stream's category).
    pub profile_id: String,
    /// The owning tenant.
    pub tenant: TenantId,
    /// The client-facing type (`core.transactions.imported`, `brain.insight.…`).
    pub event_type: String,
    /// The envelope (spec §3.1) as JSON.
    pub envelope: String,
}

/// The client-facing type of a twin event: `TransactionsImported` → `core.transactions.imported`
/// (the words of the name, the last one after a dot). Brain and Pulse events keep their own
/// dotted type.
pub fn client_type(event: &RecordedEvent) -> String {
    if event.stream_id.category() != "profile" || event.event_type.contains('.') {
        return event.event_type.clone();
    }
    let mut words: Vec<String> = Vec::new();
    for c in event.event_type.chars() {
        if c.is_uppercase() || words.is_empty() {
            words.push(String::new());
        }
        if let Some(word) = words.last_mut() {
            word.extend(c.to_lowercase());
        }
    }
    let last = words.pop().unwrap_or_default();
    if words.is_empty() {
        format!("core.{last}")
    } else {
        format!("core.{}.{last}", words.join("_"))
    }
}

/// The feed item of `event`, if it belongs to a profile's feed.
pub fn item_of(event: &RecordedEvent, options: &PulseOptions) -> Option<PulseItem> {
    let (category, profile_id) = event.stream_id.as_str().split_once('-')?;
    if !CATEGORIES.contains(&category) || event.is_shredded() {
        return None;
    }
    let data = if event.payload.len() > options.payload_bytes_max {
        serde_json::json!({ "omitted": "payload too large for the feed", "bytes": event.payload.len() })
    } else {
        serde_json::from_slice(&event.payload).unwrap_or(serde_json::Value::Null)
    };
    let event_type = client_type(event);
    let envelope = Envelope {
        event_id: event.event_id,
        event_type: event_type.clone(),
        api_version: options.api_version.clone(),
        created_at: event.recorded_at,
        data,
        user: EnvelopeUser { profile_id: profile_id.to_owned(), external_id: None },
    };
    Some(PulseItem {
        position: event.position,
        profile_id: profile_id.to_owned(),
        tenant: event.metadata.tenant_id.clone(),
        event_type,
        envelope: serde_json::to_string(&envelope).ok()?,
    })
}

struct Hub {
    tx: broadcast::Sender<Arc<PulseItem>>,
    through: AtomicU64,
    store: Arc<dyn EventStore>,
    options: PulseOptions,
}

/// Fans the log out to SSE connections. Clone it freely; run its [`PulseHub::sink`] with a
/// [`fintra_projections::ProjectionRunner`] on the same store.
#[derive(Clone)]
pub struct PulseHub {
    hub: Arc<Hub>,
}

impl std::fmt::Debug for PulseHub {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PulseHub")
            .field("through", &self.through())
            .field("connections", &self.connections())
            .finish_non_exhaustive()
    }
}

impl PulseHub {
    /// A hub whose connections catch up from `store`.
    pub fn new(store: Arc<dyn EventStore>, options: PulseOptions) -> Self {
        let (tx, _) = broadcast::channel(options.buffer.max(1));
        Self { hub: Arc::new(Hub { tx, through: AtomicU64::new(0), store, options }) }
    }

    /// The sink that feeds the hub, starting after `from` (the log's head when it starts, or
    /// [`Position::START`]: events before `from` reach only resuming clients, from the store).
    pub fn sink(&self, from: Position) -> PulseHubSink {
        self.hub.through.fetch_max(from.0, Ordering::SeqCst);
        PulseHubSink { hub: self.hub.clone(), checkpoint: from }
    }

    /// Everything up to this position has been broadcast.
    pub fn through(&self) -> Position {
        Position(self.hub.through.load(Ordering::SeqCst))
    }

    /// Open connections.
    pub fn connections(&self) -> usize {
        self.hub.tx.receiver_count()
    }

    /// The settings.
    pub fn options(&self) -> &PulseOptions {
        &self.hub.options
    }

    /// A feed of `profile_id`'s events for `tenant`, resuming after `last_event_id` when given.
    pub fn feed(
        &self,
        tenant: TenantId,
        profile_id: &str,
        last_event_id: Option<Position>,
    ) -> Feed {
        // Subscribe first, then read the position: an item broadcast after this point is in
        // the receiver, and everything up to `until` is in the store (the sink moves `through`
        // before it broadcasts).
        let rx = self.hub.tx.subscribe();
        let until = self.through();
        let max = self.hub.options.resume_positions_max;
        let (phase, last_sent) = match last_event_id {
            Some(after) if after < until && until.0 - after.0 > max => (Phase::TooOld, until),
            Some(after) if after < until => (Phase::CatchUp { after }, after),
            // An id at or beyond the feed's position (a hub still catching up, a restarted
            // embedded store) resumes from the feed's position: the client may see an event
            // again, never miss one.
            _ => (Phase::Live, until),
        };
        Feed {
            hub: self.hub.clone(),
            rx,
            tenant,
            profile_id: profile_id.to_owned(),
            until,
            last_sent,
            phase,
            pending: std::collections::VecDeque::new(),
        }
    }
}

/// Feeds a [`PulseHub`] as a projection sink. Its checkpoint lives in memory: a restarted hub
/// starts where its host tells it to.
pub struct PulseHubSink {
    hub: Arc<Hub>,
    checkpoint: Position,
}

impl std::fmt::Debug for PulseHubSink {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PulseHubSink").field("checkpoint", &self.checkpoint).finish()
    }
}

#[async_trait]
impl Sink for PulseHubSink {
    fn name(&self) -> String {
        "pulse_sse@v1".into()
    }

    fn handles(&self, _event_type: &str) -> bool {
        true
    }

    async fn checkpoint(&mut self) -> Result<Position, ProjectionError> {
        Ok(self.checkpoint)
    }

    async fn apply(
        &mut self,
        events: &[RecordedEvent],
        through: Position,
    ) -> Result<(), ProjectionError> {
        let items: Vec<Arc<PulseItem>> =
            events.iter().filter_map(|e| item_of(e, &self.hub.options)).map(Arc::new).collect();
        self.hub.through.fetch_max(through.0, Ordering::SeqCst);
        for item in items {
            // No receiver is not an error: nobody is watching.
            let _ = self.hub.tx.send(item);
        }
        self.checkpoint = self.checkpoint.max(through);
        Ok(())
    }

    async fn park(&mut self, event: &RecordedEvent, _reason: &str) -> Result<(), ProjectionError> {
        self.checkpoint = self.checkpoint.max(event.position);
        self.hub.through.fetch_max(event.position.0, Ordering::SeqCst);
        Ok(())
    }
}

enum Phase {
    CatchUp { after: Position },
    TooOld,
    Live,
    Closed,
}

/// One connection's events, in log order with nothing missed; see the module docs.
pub struct Feed {
    hub: Arc<Hub>,
    rx: broadcast::Receiver<Arc<PulseItem>>,
    tenant: TenantId,
    profile_id: String,
    until: Position,
    last_sent: Position,
    phase: Phase,
    pending: std::collections::VecDeque<Arc<PulseItem>>,
}

impl std::fmt::Debug for Feed {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Feed")
            .field("profile_id", &self.profile_id)
            .field("last_sent", &self.last_sent)
            .finish_non_exhaustive()
    }
}

/// What a feed yields.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum FeedItem {
    /// An event for the client.
    Event(Arc<PulseItem>),
    /// The feed ends: `reason` is `slow_consumer`, `store_unavailable`, `resume_too_old`,
    /// `consent_revoked` or `shutdown`.
    Close {
        /// Why.
        reason: &'static str,
        /// The last id sent (resume with it as `Last-Event-ID`).
        resume_from: Position,
    },
}

impl Feed {
    fn mine(&self, item: &PulseItem) -> bool {
        item.profile_id == self.profile_id && item.tenant == self.tenant
    }

    /// The cheap test before an envelope is built: the profile's streams, the tenant's event.
    fn mine_event(&self, event: &RecordedEvent) -> bool {
        event
            .stream_id
            .as_str()
            .split_once('-')
            .is_some_and(|(category, id)| CATEGORIES.contains(&category) && id == self.profile_id)
            && event.metadata.tenant_id == self.tenant
    }

    fn close(&mut self, reason: &'static str) -> Option<FeedItem> {
        self.phase = Phase::Closed;
        Some(FeedItem::Close { reason, resume_from: self.last_sent })
    }

    /// Ends the feed now with `reason` (the next [`Feed::next`] returns `None`).
    pub fn end(&mut self, reason: &'static str) -> FeedItem {
        self.pending.clear();
        self.phase = Phase::Closed;
        FeedItem::Close { reason, resume_from: self.last_sent }
    }

    /// The next item; `None` after a close. Cancel-safe: dropping the future loses nothing
    /// the feed has not handed out.
    pub async fn next(&mut self) -> Option<FeedItem> {
        loop {
            if let Some(item) = self.pending.pop_front() {
                self.last_sent = self.last_sent.max(item.position);
                return Some(FeedItem::Event(item));
            }
            match self.phase {
                Phase::Closed => return None,
                // Resume from the feed's position: the client is told it skipped history.
                Phase::TooOld => return self.close("resume_too_old"),
                Phase::CatchUp { after } => {
                    let page = self.hub.options.catch_up_page.max(1);
                    let events = match self.hub.store.read_all(after, page).await {
                        Ok(events) => events,
                        Err(error) => {
                            tracing::warn!(%error, "pulse feed could not catch up from the store");
                            return self.close("store_unavailable");
                        }
                    };
                    let last = events.last().map(|e| e.position);
                    for event in events.iter().filter(|e| e.position <= self.until) {
                        if self.mine_event(event)
                            && let Some(item) = item_of(event, &self.hub.options)
                        {
                            self.pending.push_back(Arc::new(item));
                        }
                    }
                    // A page may be short (a store caps its bytes): only an empty page, or one
                    // that reaches `until`, ends the replay.
                    self.phase = match last {
                        Some(p) if p < self.until => Phase::CatchUp { after: p },
                        _ => {
                            self.last_sent = self.last_sent.max(self.until);
                            Phase::Live
                        }
                    };
                }
                Phase::Live => match self.rx.recv().await {
                    // Up to `until` came from the store (or predates the connection).
                    Ok(item)
                        if item.position > self.last_sent.max(self.until) && self.mine(&item) =>
                    {
                        self.pending.push_back(item);
                    }
                    Ok(_) => {}
                    Err(broadcast::error::RecvError::Lagged(_)) => {
                        return self.close("slow_consumer");
                    }
                    Err(broadcast::error::RecvError::Closed) => return self.close("shutdown"),
                },
            }
        }
    }
}

/// The SSE event of a feed item.
pub(crate) fn sse_event(item: &FeedItem) -> Event {
    match item {
        // Unnamed (`message`) events: a browser's `EventSource.onmessage` sees every type; the
        // type is in the envelope.
        FeedItem::Event(item) => {
            Event::default().id(item.position.0.to_string()).data(item.envelope.clone())
        }
        FeedItem::Close { reason, resume_from } => {
            let message = match *reason {
                "slow_consumer" => {
                    "the connection fell behind the feed's buffer; reconnect with Last-Event-ID"
                }
                "store_unavailable" => {
                    "the event store could not be read; reconnect with Last-Event-ID"
                }
                _ => "the server is shutting down; reconnect with Last-Event-ID",
            };
            let data = serde_json::json!({
                "reason": reason, "message": message, "resume_from": resume_from.0.to_string(),
            });
            // The id is where a browser's automatic reconnect resumes (it sends the last id seen).
            Event::default().id(resume_from.0.to_string()).event("close").data(data.to_string())
        }
    }
}
