//! Pulse as a running projection on PostgreSQL: twin events are evaluated against the rules and
//! the events they fire are appended — together with the rule state and the checkpoint, in one
//! transaction, so a crash neither loses nor repeats a firing.

use std::sync::Arc;

use async_trait::async_trait;
use fintra_core::{
    Aggregate, EventMetadata, EventStore, ExpectedVersion, Loaded, NewEvent, Position,
    RecordedEvent, Repository, SUBJECT_HEADER, StreamId,
};
use fintra_store_postgres::PgEventStore;
use fintra_twin::{Profile, ProfileEvent};
use serde_json::json;
use sqlx::PgPool;

use super::{RuleEngine, emitted_event};
use crate::runner::{ProjectionError, Sink};

const STATE: &str = "CREATE TABLE IF NOT EXISTS fintra_pulse_state (
    name text PRIMARY KEY, position bigint NOT NULL, engine jsonb NOT NULL,
    updated_at timestamptz NOT NULL DEFAULT now())";
const PARKED: &str = "CREATE TABLE IF NOT EXISTS fintra_pulse_parked (
    name text NOT NULL, position bigint NOT NULL, event_id uuid NOT NULL, reason text NOT NULL,
    parked_at timestamptz NOT NULL DEFAULT now(), PRIMARY KEY (name, position))";

use crate::checkpoints::pg_error as pg;

/// Seals the signals a [`PulseSink`] appends before they are written, in the sink's own
/// transaction. With `fintra-guard`, wrap `GuardedStore::seal`: the signals of a profile are then
/// sealed with its key and erased with it.
///
/// ```text
/// struct Seal(Arc<GuardedStore<PgEventStore>>);
///
/// #[async_trait]
/// impl SignalSealer for Seal {
///     async fn seal(&self, stream: &StreamId, events: Vec<NewEvent>) -> fintra_core::Result<Vec<NewEvent>> {
///         self.0.seal(stream, &events).await
///     }
/// }
/// ```
#[async_trait]
pub trait SignalSealer: Send + Sync {
    /// The events as they should be stored on `stream`.
    ///
    /// # Errors
    /// Whatever stops sealing; the sink's batch then fails and is retried.
    async fn seal(
        &self,
        stream: &StreamId,
        events: Vec<NewEvent>,
    ) -> fintra_core::Result<Vec<NewEvent>>;
}

/// The client-facing type of an imported transaction (spec §3.2).
pub const TRANSACTION_CREATED: &str = "core.transaction.created";

/// Runs a [`RuleEngine`] over the twins of a PostgreSQL store. For every transaction imported
/// into a `profile-…` stream it evaluates the rules triggered by `core.transaction.created` with
/// the context `{"account": {"id", "type", "balance", "available"}, "transaction": {…}}`
/// (balances in minor units after the import), subject = the account; fired rules become events
/// on the stream `pulse-<profile id>`.
pub struct PulseSink {
    name: String,
    store: PgEventStore,
    pool: PgPool,
    engine: RuleEngine,
    twins: Repository<Profile, Arc<dyn EventStore>>,
    folded: std::collections::HashMap<StreamId, Loaded<Profile>>,
    sealer: Option<Arc<dyn SignalSealer>>,
    lease: Option<crate::lease::Lease>,
}

impl std::fmt::Debug for PulseSink {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PulseSink").field("name", &self.name).finish_non_exhaustive()
    }
}

impl PulseSink {
    /// A sink named `name` (its checkpoint and rule state) with `engine`'s rules; a saved state
    /// of the same name is resumed.
    ///
    /// # Errors
    /// PostgreSQL errors; a saved state that does not parse.
    pub async fn new(
        store: PgEventStore,
        name: &str,
        engine: RuleEngine,
    ) -> Result<Self, ProjectionError> {
        let pool = store.pool().clone();
        crate::pg::create_if_missing(&pool, STATE).await?;
        crate::pg::create_if_missing(&pool, PARKED).await?;
        let saved: Option<serde_json::Value> =
            sqlx::query_scalar("SELECT engine FROM fintra_pulse_state WHERE name = $1")
                .bind(name)
                .fetch_optional(&pool)
                .await
                .map_err(pg)?;
        let engine = match saved {
            Some(state) => {
                serde_json::from_value(state).map_err(|e| ProjectionError::sink("postgres", e))?
            }
            None => engine,
        };
        let reader: Arc<dyn EventStore> = Arc::new(store.clone());
        let twins = Repository::<Profile, _>::new(reader);
        Ok(Self {
            name: name.to_owned(),
            store,
            pool,
            engine,
            twins,
            folded: Default::default(),
            sealer: None,
            lease: None,
        })
    }

    /// Reads the twins through `reader` instead of the PostgreSQL store itself — a
    /// `GuardedStore` over it when profiles are sealed. Give the runner the same reader.
    #[must_use]
    pub fn with_reader(mut self, reader: Arc<dyn EventStore>) -> Self {
        self.twins = Repository::<Profile, _>::new(reader);
        self
    }

    /// Seals every signal before it is appended (see [`SignalSealer`]). Signals always name
    /// their profile in the [`SUBJECT_HEADER`] header and carry its tenant.
    #[must_use]
    pub fn with_sealer(mut self, sealer: Arc<dyn SignalSealer>) -> Self {
        self.sealer = Some(sealer);
        self
    }

    /// Fences every write of this sink with `lease` ([`crate::lease`]): the signals, the rule
    /// state and the checkpoint of a page commit only while `lease` is still this process's, at
    /// its epoch; otherwise the page rolls back and the sink fails with
    /// [`ProjectionError::Fenced`]. Run it with [`crate::fleet::run_leased`].
    #[must_use]
    pub fn with_lease(mut self, lease: crate::lease::Lease) -> Self {
        self.lease = Some(lease);
        self
    }

    /// The rule state (for inspection).
    pub fn engine(&self) -> &RuleEngine {
        &self.engine
    }

    /// The signals as they are to be stored: through the sealer, if there is one.
    async fn seal_all(
        &self,
        emitted: Vec<(StreamId, NewEvent)>,
    ) -> Result<Vec<(StreamId, Vec<NewEvent>)>, ProjectionError> {
        let mut sealed = Vec::with_capacity(emitted.len());
        for (stream, new) in emitted {
            let new = match &self.sealer {
                Some(sealer) => sealer.seal(&stream, vec![new]).await?,
                None => vec![new],
            };
            sealed.push((stream, new));
        }
        Ok(sealed)
    }

    async fn twin_at(&mut self, event: &RecordedEvent) -> Result<Profile, ProjectionError> {
        let cached = self.folded.remove(&event.stream_id);
        let loaded = crate::views::fold_next(&self.twins, cached, event).await?;
        let state = loaded.state.clone();
        self.folded.insert(event.stream_id.clone(), loaded);
        Ok(state)
    }
}

#[async_trait]
impl Sink for PulseSink {
    fn name(&self) -> String {
        self.name.clone()
    }

    fn handles(&self, event_type: &str) -> bool {
        event_type == "TransactionsImported"
    }

    async fn checkpoint(&mut self) -> Result<Position, ProjectionError> {
        crate::checkpoints::load(&self.pool, "fintra_pulse_state", &self.name).await
    }

    async fn apply(
        &mut self,
        events: &[RecordedEvent],
        through: Position,
    ) -> Result<(), ProjectionError> {
        let mut engine = self.engine.clone();
        let mut emitted: Vec<(StreamId, fintra_core::NewEvent)> = Vec::new();
        for subject in events.iter().filter_map(RecordedEvent::shredded_subject) {
            // An erased profile: its cached twin goes, and with it the rule state of its accounts.
            if let Ok(stream) = StreamId::new(subject)
                && let Some(loaded) = self.folded.remove(&stream)
            {
                for account in loaded.state.accounts() {
                    engine.forget(&account.account.account_id);
                }
            }
        }
        for event in events.iter().filter(|e| e.stream_id.category() == Profile::CATEGORY) {
            let twin = self.twin_at(event).await?;
            let ProfileEvent::TransactionsImported { transactions, .. } =
                self.twins.decode(event)?
            else {
                continue;
            };
            let profile_id = event.stream_id.as_str().trim_start_matches("profile-").to_owned();
            for (n, t) in transactions.iter().enumerate() {
                let Some(account) = twin.account(&t.account_id) else { continue };
                let context = json!({
                    "account": {
                        "id": t.account_id,
                        "type": account.account.account_type,
                        "balance": i64::try_from(account.balance_minor).unwrap_or(i64::MAX),
                        "available": i64::try_from(account.available_minor()).unwrap_or(i64::MAX),
                    },
                    "transaction": {
                        "amount": i64::try_from(t.amount_minor).unwrap_or(i64::MIN),
                        "category": t.enrichment.as_ref().map(|e| e.category.clone()),
                        "merchant": t.enrichment.as_ref().and_then(|e| e.merchant_name.clone()),
                    },
                });
                let fired = engine
                    .on_event(TRANSACTION_CREATED, &t.account_id, &context)
                    .map_err(ProjectionError::refused)?;
                for (k, fire) in fired.iter().enumerate() {
                    // A deterministic id: the same firing always has the same event id.
                    let seed =
                        format!("{}|{}|{n}|{k}|{}", event.event_id, fire.rule_id, fire.subject);
                    let id = uuid::Uuid::from_u128(fnv128(&seed));
                    let stream = StreamId::new(format!("pulse-{profile_id}"))?;
                    // Derived from the profile's data: its subject and tenant go with it.
                    let mut metadata = EventMetadata {
                        tenant_id: event.metadata.tenant_id.clone(),
                        ..EventMetadata::default()
                    };
                    metadata
                        .headers
                        .insert(SUBJECT_HEADER.to_owned(), event.stream_id.as_str().to_owned());
                    emitted.push((stream, emitted_event(fire, id, event.occurred_at, metadata)));
                }
            }
        }
        let sealed = self.seal_all(emitted).await?;
        let mut tx = crate::pg::begin(&self.pool).await?;
        fence(&mut tx, self.lease.as_ref()).await?; // dropping `tx` rolls it back
        for (stream, new) in sealed {
            self.store.append_in(&mut tx, &stream, ExpectedVersion::Any, &new).await?;
        }
        let state =
            serde_json::to_value(&engine).map_err(|e| ProjectionError::sink("postgres", e))?;
        let through = crate::checkpoints::to_stored(through)?;
        sqlx::query(
            "INSERT INTO fintra_pulse_state (name, position, engine) VALUES ($1, $2, $3)
             ON CONFLICT (name) DO UPDATE SET position = EXCLUDED.position, engine = EXCLUDED.engine, updated_at = now()",
        )
        .bind(&self.name)
        .bind(through)
        .bind(state)
        .execute(&mut *tx)
        .await
        .map_err(pg)?;
        crate::pg::commit(tx).await?;
        self.engine = engine;
        Ok(())
    }

    async fn park(&mut self, event: &RecordedEvent, reason: &str) -> Result<(), ProjectionError> {
        let through = crate::checkpoints::to_stored(event.position)?;
        let state =
            serde_json::to_value(&self.engine).map_err(|e| ProjectionError::sink("postgres", e))?;
        let mut tx = crate::pg::begin(&self.pool).await?;
        fence(&mut tx, self.lease.as_ref()).await?;
        sqlx::query(
            "INSERT INTO fintra_pulse_parked (name, position, event_id, reason) VALUES ($1, $2, $3, $4)
             ON CONFLICT DO NOTHING",
        )
        .bind(&self.name)
        .bind(through)
        .bind(event.event_id)
        .bind(reason)
        .execute(&mut *tx)
        .await
        .map_err(pg)?;
        sqlx::query(
            "INSERT INTO fintra_pulse_state (name, position, engine) VALUES ($1, $2, $3)
             ON CONFLICT (name) DO UPDATE SET position = EXCLUDED.position, updated_at = now()",
        )
        .bind(&self.name)
        .bind(through)
        .bind(state)
        .execute(&mut *tx)
        .await
        .map_err(pg)?;
        crate::pg::commit(tx).await
    }
}

/// Checks `lease`, if any, in the transaction (and holds its row until the transaction ends).
async fn fence(
    tx: &mut sqlx::PgConnection,
    lease: Option<&crate::lease::Lease>,
) -> Result<(), ProjectionError> {
    match lease {
        Some(lease) => crate::lease::fence(tx, lease).await,
        None => Ok(()),
    }
}

/// Two FNV-1a passes: a stable 128-bit value from text.
fn fnv128(text: &str) -> u128 {
    let (mut a, mut b): (u64, u64) = (0xcbf2_9ce4_8422_2325, 0x8422_2325_cbf2_9ce4);
    for byte in text.bytes() {
        a = (a ^ u64::from(byte)).wrapping_mul(0x0000_0100_0000_01b3);
        b = (b ^ u64::from(byte)).wrapping_mul(0x0000_0100_0000_01b3).rotate_left(5);
    }
    (u128::from(a) << 64) | u128::from(b)
}

/// The stream categories whose events [`PulseDelivery`] sends: the signals [`PulseSink`] fires
/// (`pulse-<id>`) and the Brain's outputs (`brain-<id>`: `brain.risk.*`, `brain.nudge.*`,
/// `brain.insight.*` from `fintra_ml::insight`, and `ForecastUpdated`).
pub const DELIVERED: [&str; 2] = ["pulse", "brain"];

/// The profile a delivered stream speaks for: its name after the category.
fn profile_of(stream: &StreamId) -> String {
    let name = stream.as_str();
    name.split_once('-').map_or(name, |(_, id)| id).to_owned()
}

/// Delivers the events in `pulse-…` and `brain-…` streams ([`DELIVERED`]) to the webhook
/// subscriptions that want them, as a projection: a page is delivered (each event to each matching subscription, retried per the
/// policy, dead-lettered after the last attempt), then the checkpoint moves (at-least-once; the
/// idempotency key lets receivers drop repeats).
pub struct PulseDelivery<T> {
    name: String,
    pool: PgPool,
    delivery: super::WebhookDelivery<T>,
    subscriptions: Vec<super::Subscription>,
    api_version: String,
    lease: Option<crate::lease::Lease>,
}

impl<T> std::fmt::Debug for PulseDelivery<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PulseDelivery").field("name", &self.name).finish_non_exhaustive()
    }
}

impl<T: super::Transport> PulseDelivery<T> {
    /// A delivery projection named `name` (its checkpoint lives in `fintra_pulse_state`).
    ///
    /// # Errors
    /// PostgreSQL errors.
    pub async fn new(
        pool: PgPool,
        name: &str,
        delivery: super::WebhookDelivery<T>,
        subscriptions: Vec<super::Subscription>,
    ) -> Result<Self, ProjectionError> {
        crate::pg::create_if_missing(&pool, STATE).await?;
        Ok(Self {
            name: name.to_owned(),
            pool,
            delivery,
            subscriptions,
            api_version: "2023-11-01".into(),
            lease: None,
        })
    }

    /// Fences this delivery with `lease` ([`crate::lease`]): before delivering a page it checks
    /// that the lease is still its own, and its checkpoint moves only under the lease. A
    /// delivery that lost its lease stops with [`ProjectionError::Fenced`] instead of sending;
    /// repeats are then limited to a page sent in the moment between that check and a takeover
    /// (receivers drop them by `Idempotency-Key`). Run it with [`crate::fleet::run_leased`].
    #[must_use]
    pub fn with_lease(mut self, lease: crate::lease::Lease) -> Self {
        self.lease = Some(lease);
        self
    }
}

#[async_trait]
impl<T: super::Transport> Sink for PulseDelivery<T> {
    fn name(&self) -> String {
        self.name.clone()
    }

    fn handles(&self, _event_type: &str) -> bool {
        true
    }

    async fn checkpoint(&mut self) -> Result<Position, ProjectionError> {
        crate::checkpoints::load(&self.pool, "fintra_pulse_state", &self.name).await
    }

    async fn apply(
        &mut self,
        events: &[RecordedEvent],
        through: Position,
    ) -> Result<(), ProjectionError> {
        if let Some(lease) = &self.lease {
            let mut conn = self.pool.acquire().await.map_err(pg)?;
            crate::lease::fence(&mut conn, lease).await?;
        }
        for event in events.iter().filter(|e| DELIVERED.contains(&e.stream_id.category())) {
            let data: serde_json::Value =
                serde_json::from_slice(&event.payload).unwrap_or(serde_json::Value::Null);
            let envelope = super::Envelope {
                event_id: event.event_id,
                event_type: event.event_type.clone(),
                api_version: self.api_version.clone(),
                created_at: event.recorded_at,
                data,
                user: super::EnvelopeUser {
                    profile_id: profile_of(&event.stream_id),
                    external_id: None,
                },
            };
            for subscription in self.subscriptions.iter().filter(|s| s.wants(&event.event_type)) {
                self.delivery.deliver(subscription, &envelope).await.map_err(pg)?;
            }
        }
        let through = crate::checkpoints::to_stored(through)?;
        let mut tx = crate::pg::begin(&self.pool).await?;
        fence(&mut tx, self.lease.as_ref()).await?;
        sqlx::query(
            "INSERT INTO fintra_pulse_state (name, position, engine) VALUES ($1, $2, 'null'::jsonb)
             ON CONFLICT (name) DO UPDATE SET position = EXCLUDED.position, updated_at = now()",
        )
        .bind(&self.name)
        .bind(through)
        .execute(&mut *tx)
        .await
        .map_err(pg)?;
        crate::pg::commit(tx).await
    }

    async fn park(&mut self, event: &RecordedEvent, reason: &str) -> Result<(), ProjectionError> {
        Err(ProjectionError::refused(format!("{}: {reason}", event.event_id)))
    }
}
