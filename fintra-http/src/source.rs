//! Where the routes read from: a [`ViewSource`] for the pre-computed view documents (Redis,
//! PostgreSQL or process memory) and a [`TwinSource`] for the transactions query, which runs on
//! the twin itself.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use fintra_core::{
    EventStore, Loaded, Position, ReadStreamOptions, Repository, StreamId, StreamVersion,
};
use fintra_projections::{RedisViews, SharedViews};
use fintra_twin::Profile;

/// Why a source could not answer.
#[derive(Debug, thiserror::Error)]
#[error("{source_name}: {message}")]
pub struct SourceError {
    /// Which source.
    pub source_name: &'static str,
    /// What went wrong.
    pub message: String,
}

impl SourceError {
    /// An error of `source_name`.
    pub fn new(source_name: &'static str, cause: impl std::fmt::Display) -> Self {
        Self { source_name, message: cause.to_string() }
    }
}

/// A view document as stored: its JSON and the log position it reflects.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StoredView {
    /// The position of the event that produced it (the `ETag`).
    pub position: Position,
    /// The JSON text.
    pub json: String,
}

/// Reads view documents by key (`unified360:<stream>`, `spend:<stream>:<YYYY-MM>`, …, as
/// [`fintra_projections::views::TwinViews`] writes them).
#[async_trait]
pub trait ViewSource: Send + Sync {
    /// The document under `key`, if any.
    ///
    /// # Errors
    /// The store could not be read.
    async fn get(&self, key: &str) -> Result<Option<StoredView>, SourceError>;

    /// The documents under `keys`, in order (one round trip where the store allows).
    ///
    /// # Errors
    /// The store could not be read.
    async fn get_many(&self, keys: &[String]) -> Result<Vec<Option<StoredView>>, SourceError> {
        let mut out = Vec::with_capacity(keys.len());
        for key in keys {
            out.push(self.get(key).await?);
        }
        Ok(out)
    }
}

#[async_trait]
impl ViewSource for SharedViews {
    async fn get(&self, key: &str) -> Result<Option<StoredView>, SourceError> {
        Ok(SharedViews::get(self, key)
            .map(|d| StoredView { position: d.position, json: d.json.to_string() }))
    }
}

/// The active version of a Redis view family (the one [`fintra_projections::RedisSink`]
/// switched readers to).
#[derive(Clone, Debug)]
pub struct RedisViewSource {
    views: RedisViews,
    name: String,
}

impl RedisViewSource {
    /// Documents of the family `name` (`twin_views`) read through `views`.
    pub fn new(views: RedisViews, name: &str) -> Self {
        Self { views, name: name.to_owned() }
    }
}

#[async_trait]
impl ViewSource for RedisViewSource {
    async fn get(&self, key: &str) -> Result<Option<StoredView>, SourceError> {
        let found =
            self.views.get(&self.name, key).await.map_err(|e| SourceError::new("redis", e))?;
        Ok(found.map(|(position, json)| StoredView { position, json }))
    }
}

/// The active version of a PostgreSQL view table: the view `<name>` that
/// [`fintra_projections::PgSink::activate`] points at the live version (`key`, `position`,
/// `doc`).
#[derive(Clone, Debug)]
pub struct PgViewSource {
    pool: sqlx::PgPool,
    get: String,
    get_many: String,
}

impl PgViewSource {
    /// Documents of the projection `name` (`twin_views`).
    ///
    /// # Errors
    /// `name` is not a plain lower-case identifier.
    pub fn new(pool: sqlx::PgPool, name: &str) -> Result<Self, SourceError> {
        let plain = !name.is_empty()
            && name.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_');
        if !plain {
            return Err(SourceError::new("postgres", format!("{name:?} is not a view name")));
        }
        Ok(Self {
            pool,
            get: format!("SELECT position, doc::text FROM {name} WHERE key = $1"),
            get_many: format!(
                "SELECT key, position, doc::text FROM {name} WHERE key = ANY($1::text[])"
            ),
        })
    }
}

fn position(stored: i64) -> Position {
    Position(u64::try_from(stored).unwrap_or(0))
}

#[async_trait]
impl ViewSource for PgViewSource {
    async fn get(&self, key: &str) -> Result<Option<StoredView>, SourceError> {
        let row: Option<(i64, String)> = sqlx::query_as(&self.get)
            .bind(key)
            .fetch_optional(&self.pool)
            .await
            .map_err(|e| SourceError::new("postgres", e))?;
        Ok(row.map(|(p, json)| StoredView { position: position(p), json }))
    }

    async fn get_many(&self, keys: &[String]) -> Result<Vec<Option<StoredView>>, SourceError> {
        let rows: Vec<(String, i64, String)> = sqlx::query_as(&self.get_many)
            .bind(keys)
            .fetch_all(&self.pool)
            .await
            .map_err(|e| SourceError::new("postgres", e))?;
        let mut found: std::collections::HashMap<String, StoredView> = rows
            .into_iter()
            .map(|(key, p, json)| (key, StoredView { position: position(p), json }))
            .collect();
        Ok(keys.iter().map(|k| found.remove(k)).collect())
    }
}

/// Loads twins for the transactions query.
#[async_trait]
pub trait TwinSource: Send + Sync {
    /// The stream's current version (cheap: answers `If-None-Match` without loading).
    ///
    /// # Errors
    /// The store could not be read.
    async fn version(&self, stream: &StreamId) -> Result<StreamVersion, SourceError>;

    /// The twin at `version` (what [`TwinSource::version`] just answered) or later.
    ///
    /// # Errors
    /// The store could not be read or the stream not folded.
    async fn load(
        &self,
        stream: &StreamId,
        version: StreamVersion,
    ) -> Result<Arc<Loaded<Profile>>, SourceError>;

    /// Drops anything kept about `stream` (its profile was not found: erased, or never there).
    fn forget(&self, _stream: &StreamId) {}
}

fn store_error(e: impl std::fmt::Display) -> SourceError {
    SourceError::new("event store", e)
}

/// Loads the twin from the store on every request (a full fold each time: fine for small
/// twins and tests; serve [`TwinCache`] in production).
#[async_trait]
impl<S: EventStore + 'static> TwinSource for Repository<Profile, S> {
    async fn version(&self, stream: &StreamId) -> Result<StreamVersion, SourceError> {
        self.store().stream_version(stream).await.map_err(store_error)
    }

    async fn load(
        &self,
        stream: &StreamId,
        _version: StreamVersion,
    ) -> Result<Arc<Loaded<Profile>>, SourceError> {
        Repository::load(self, stream).await.map(Arc::new).map_err(store_error)
    }
}

/// Twins kept folded in memory for the transactions query: a request whose twin has not
/// changed shares the folded twin (no read, no clone); one whose twin has grown folds only the
/// new events. At most `capacity` twins are kept (an arbitrary one is dropped to make room). A
/// profile the Views no longer hold (erased) is dropped from the cache on its next request,
/// which answers 404 before the cache is read.
pub struct TwinCache<S> {
    repository: Repository<Profile, S>,
    capacity: usize,
    twins: Mutex<HashMap<StreamId, Arc<Loaded<Profile>>>>,
}

impl<S> std::fmt::Debug for TwinCache<S> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TwinCache").field("capacity", &self.capacity).finish_non_exhaustive()
    }
}

impl<S: EventStore + 'static> TwinCache<S> {
    /// A cache of up to `capacity` twins (at least one) read through `repository`.
    pub fn new(repository: Repository<Profile, S>, capacity: usize) -> Self {
        Self { repository, capacity: capacity.max(1), twins: Mutex::new(HashMap::new()) }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<StreamId, Arc<Loaded<Profile>>>> {
        self.twins.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// `cached` with the events after its version folded in (up to `version`).
    async fn fold_newer(
        &self,
        stream: &StreamId,
        mut cached: Arc<Loaded<Profile>>,
        version: StreamVersion,
    ) -> Result<Arc<Loaded<Profile>>, SourceError> {
        let loaded = Arc::make_mut(&mut cached);
        while loaded.version < version {
            let from = loaded.version.next().map_err(store_error)?;
            let page = self
                .repository
                .store()
                .read_stream(stream, ReadStreamOptions::from_version(from))
                .await
                .map_err(store_error)?;
            if page.is_empty() {
                break;
            }
            for event in &page {
                // An erased subject's event has no payload: the twin goes on without it.
                if !event.is_shredded() {
                    let decoded = self.repository.decode(event).map_err(store_error)?;
                    fintra_core::Aggregate::apply(&mut loaded.state, &decoded);
                    loaded.last_occurred_at =
                        fintra_core::DomainEvent::occurred_at(&decoded).or(loaded.last_occurred_at);
                }
                loaded.version = event.stream_version;
            }
        }
        Ok(cached)
    }
}

#[async_trait]
impl<S: EventStore + 'static> TwinSource for TwinCache<S> {
    async fn version(&self, stream: &StreamId) -> Result<StreamVersion, SourceError> {
        self.repository.store().stream_version(stream).await.map_err(store_error)
    }

    async fn load(
        &self,
        stream: &StreamId,
        version: StreamVersion,
    ) -> Result<Arc<Loaded<Profile>>, SourceError> {
        // The caller read the version (it answers If-None-Match with it): no second read.
        let cached = self.lock().get(stream).cloned();
        let twin = match cached {
            Some(twin) if twin.version == version => return Ok(twin),
            Some(twin) if twin.version < version => self.fold_newer(stream, twin, version).await?,
            _ => Arc::new(self.repository.load(stream).await.map_err(store_error)?),
        };
        let mut twins = self.lock();
        if twins.len() >= self.capacity && !twins.contains_key(stream) {
            let victim = twins.keys().next().cloned();
            if let Some(victim) = victim {
                twins.remove(&victim);
            }
        }
        // Keep the newest of what this request folded and what another stored meanwhile.
        let keep = match twins.get(stream) {
            Some(other) if other.version > twin.version => other.clone(),
            _ => twin.clone(),
        };
        twins.insert(stream.clone(), keep);
        Ok(twin)
    }

    fn forget(&self, stream: &StreamId) {
        self.lock().remove(stream);
    }
}
