//! The `EventStore` decorator that seals subject-tagged payloads before any store sees them.

use std::sync::Arc;

use async_trait::async_trait;
use bytes::Bytes;
use fintra_core::{
    AppendResult, Clock, ContentType, Error, EventId, EventMetadata, EventStore, ExpectedVersion,
    NewEvent, Position, ReadStreamOptions, RecordedEvent, Result, StreamId, StreamVersion,
    SystemClock, TenantId,
};

use crate::GuardError;
use crate::guard::{Guard, Lookup, Unwrapped};
use crate::keys::SubjectId;
use crate::seal::{Binding, SEALED, key_id_of, open, seal};

/// The metadata header naming an event's data subject. The decorator sets it on every event it
/// seals (reads use it to find the key); set it yourself to tag an event explicitly.
pub use fintra_core::SUBJECT_HEADER;

/// The event type of the event [`GuardedStore::shred`] appends.
pub use fintra_core::SUBJECT_SHREDDED;

/// The category of the streams holding `SubjectShredded` events (`Shred-<subject>`).
pub const SHRED_CATEGORY: &str = "Shred";

/// Which events belong to a data subject (and are sealed with its key).
pub trait SubjectPolicy: Send + Sync {
    /// The subject of an event about to be appended to `stream`; `None` leaves it in plaintext.
    fn subject(&self, stream: &StreamId, event: &NewEvent) -> Option<SubjectId>;

    /// The subject whose key seals snapshots of `stream`; `None` leaves them in plaintext.
    fn stream_subject(&self, stream: &StreamId) -> Option<SubjectId>;
}

/// The default policy: an event with a [`SUBJECT_HEADER`] header belongs to that subject; an
/// event of a stream in one of `categories` (by default `Profile` and the twin's `profile`)
/// belongs to the stream itself (one person per stream). Everything else stays plaintext.
#[derive(Clone, Debug)]
pub struct StreamSubjects {
    categories: Vec<String>,
}

impl StreamSubjects {
    /// Streams of these categories are their own subjects.
    pub fn of<I: IntoIterator<Item = S>, S: Into<String>>(categories: I) -> Self {
        Self { categories: categories.into_iter().map(Into::into).collect() }
    }
}

impl Default for StreamSubjects {
    /// `Profile-…` streams and the twin's own `profile-…` streams (`fintra_twin::Profile`).
    fn default() -> Self {
        Self::of(["Profile", "profile"])
    }
}

impl SubjectPolicy for StreamSubjects {
    fn subject(&self, stream: &StreamId, event: &NewEvent) -> Option<SubjectId> {
        if let Some(tagged) = event.metadata.headers.get(SUBJECT_HEADER) {
            return SubjectId::new(tagged.clone()).ok();
        }
        self.stream_subject(stream)
    }

    fn stream_subject(&self, stream: &StreamId) -> Option<SubjectId> {
        let category = stream.category();
        self.categories
            .iter()
            .any(|c| c == category)
            .then(|| SubjectId::new(stream.as_str()).ok())
            .flatten()
    }
}

/// The binding of an event's sealed payload.
fn event_binding(
    tenant: &TenantId,
    subject: &str,
    stream: &StreamId,
    event_id: &[u8],
    event_type: &str,
    schema_version: &[u8],
) -> Binding {
    Binding::of(&[
        b"event",
        tenant.as_str().as_bytes(),
        subject.as_bytes(),
        stream.as_str().as_bytes(),
        event_id,
        event_type.as_bytes(),
        schema_version,
    ])
}

pub(crate) fn guard_error(error: GuardError) -> Error {
    match error {
        GuardError::Tampered(reason) => Error::corrupted(reason),
        GuardError::Shredded(subject) => {
            Error::invalid("subject", format!("subject {subject} was erased (shredded)"))
        }
        GuardError::InvalidSubject(subject) => Error::invalid("subject", subject),
        other => Error::backend(other),
    }
}

/// An [`EventStore`] that seals the payload of every subject's event with that subject's data
/// key before the inner store sees it, and opens it on read. Metadata stays plaintext (the
/// subject is named in the [`SUBJECT_HEADER`] header). Stores below — PostgreSQL, the warm
/// store, Parquet archives, the Kafka publisher reading them — hold ciphertext with no code of
/// their own.
///
/// Reading an event whose subject was shredded returns it with an empty payload of content type
/// [`ContentType::SHREDDED`]: folds and replays go on ([`fintra_core::Repository`] skips it).
/// A sealed payload that does not authenticate — altered, or moved from another event, stream,
/// subject or tenant — is `Error::Corrupted`, never another subject's plaintext.
pub struct GuardedStore<S> {
    inner: S,
    guard: Arc<Guard>,
    policy: Arc<dyn SubjectPolicy>,
    clock: Arc<dyn Clock>,
}

impl<S: std::fmt::Debug> std::fmt::Debug for GuardedStore<S> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("GuardedStore")
            .field("inner", &self.inner)
            .field("guard", &self.guard)
            .finish_non_exhaustive()
    }
}

impl<S: EventStore> GuardedStore<S> {
    /// `inner` guarded by `guard`, with the default [`StreamSubjects`] policy.
    pub fn new(inner: S, guard: Arc<Guard>) -> Self {
        Self {
            inner,
            guard,
            policy: Arc::new(StreamSubjects::default()),
            clock: Arc::new(SystemClock),
        }
    }

    /// The same store with another subject policy.
    #[must_use]
    pub fn with_policy(mut self, policy: Arc<dyn SubjectPolicy>) -> Self {
        self.policy = policy;
        self
    }

    /// The same store reading time from `clock` (key creation and shred times).
    #[must_use]
    pub fn with_clock(mut self, clock: Arc<dyn Clock>) -> Self {
        self.clock = clock;
        self
    }

    /// The store below: it holds ciphertext. Give it (not this decorator) to anything that
    /// should relay events without reading them, such as the Kafka publisher's runner.
    pub fn inner(&self) -> &S {
        &self.inner
    }

    /// The guard.
    pub fn guard(&self) -> &Arc<Guard> {
        &self.guard
    }

    async fn seal_event(
        &self,
        stream: &StreamId,
        event: &NewEvent,
        last: &mut Option<(SubjectId, TenantId, Unwrapped)>,
    ) -> Result<NewEvent> {
        let Some(subject) = self.policy.subject(stream, event) else { return Ok(event.clone()) };
        let tenant = &event.metadata.tenant_id;
        // A batch is usually one subject's: look its key up once.
        let key = match last {
            Some((s, t, key)) if *s == subject && t == tenant => Arc::clone(key),
            _ => {
                let key = self
                    .guard
                    .key_for_sealing(tenant, &subject, self.clock.now())
                    .await
                    .map_err(guard_error)?;
                *last = Some((subject.clone(), tenant.clone(), Arc::clone(&key)));
                key
            }
        };
        let mut metadata = event.metadata.clone();
        metadata.headers.insert(SUBJECT_HEADER.to_owned(), subject.as_str().to_owned());
        let id = event.event_id.as_bytes();
        let schema = event.schema_version.to_le_bytes();
        let binding =
            event_binding(tenant, subject.as_str(), stream, id, &event.event_type, &schema);
        let sealed = seal(&key, &binding, event.content_type.as_str(), &event.payload)
            .map_err(guard_error)?;
        Ok(NewEvent {
            metadata,
            content_type: ContentType::new(SEALED),
            payload: Bytes::from(sealed),
            ..event.clone()
        })
    }

    /// The events as this decorator would append them to `stream`: a subject's sealed with its
    /// key (and named in [`SUBJECT_HEADER`]), the rest unchanged. For code that writes through
    /// another path than [`EventStore::append`] — a sink appending in its own transaction, such
    /// as Pulse's signals (`PulseSink::with_sealer` in `fintra-projections`).
    ///
    /// # Errors
    /// A shredded subject; key-store and provider errors.
    pub async fn seal(&self, stream: &StreamId, events: &[NewEvent]) -> Result<Vec<NewEvent>> {
        let mut sealed = Vec::with_capacity(events.len());
        let mut last = None;
        for event in events {
            sealed.push(self.seal_event(stream, event, &mut last).await?);
        }
        Ok(sealed)
    }

    async fn open_event(
        &self,
        mut event: RecordedEvent,
        memo: &mut Vec<(SubjectId, TenantId, Unwrapped)>,
    ) -> Result<RecordedEvent> {
        if event.content_type.as_str() != SEALED {
            return Ok(event);
        }
        let Some(named) = event.metadata.headers.get(SUBJECT_HEADER) else {
            return Err(Error::corrupted(format!(
                "sealed event {} names no subject",
                event.event_id
            )));
        };
        // Most events of a page belong to a few subjects: compare the header text with the
        // page's memo before validating it into a `SubjectId`.
        let memoised = memo
            .iter()
            .find(|(s, t, _)| s.as_str() == named.as_str() && *t == event.metadata.tenant_id);
        let lookup = match memoised {
            Some((_, _, key)) => Lookup::Key(Arc::clone(key)),
            None => {
                let subject = SubjectId::new(named.clone()).map_err(|_| {
                    Error::corrupted(format!("sealed event {} names no subject", event.event_id))
                })?;
                let tenant = &event.metadata.tenant_id;
                let lookup =
                    self.guard.key_for_opening(tenant, &subject).await.map_err(guard_error)?;
                if let Lookup::Key(key) = &lookup
                    && memo.len() < 64
                {
                    memo.push((subject.clone(), tenant.clone(), Arc::clone(key)));
                }
                lookup
            }
        };
        let key = match lookup {
            Lookup::Shredded => return Ok(shredded(event)),
            Lookup::Key(key) if key_id_of(&event.payload).ok() == Some(key.key_id) => key,
            // A subject has one data key for life: a payload sealed under another key was moved
            // here from another subject (or the key store lost this subject's key).
            Lookup::Key(_) | Lookup::Missing => {
                return Err(Error::corrupted(format!(
                    "event {}: its sealed payload is not under subject {named}'s key",
                    event.event_id
                )));
            }
        };
        let id = event.event_id.as_bytes();
        let schema = event.schema_version.to_le_bytes();
        let binding = event_binding(
            &event.metadata.tenant_id,
            named,
            &event.stream_id,
            id,
            &event.event_type,
            &schema,
        );
        let (content_type, payload) = open(&key, &binding, &event.payload).map_err(|e| {
            guard_error(match e {
                GuardError::Tampered(reason) => {
                    GuardError::Tampered(format!("event {}: {reason}", event.event_id))
                }
                other => other,
            })
        })?;
        event.content_type = ContentType::new(content_type);
        event.payload = payload;
        Ok(event)
    }

    async fn open_all(&self, events: Vec<RecordedEvent>) -> Result<Vec<RecordedEvent>> {
        let mut out = Vec::with_capacity(events.len());
        // The keys of this page's subjects, looked up once each.
        let mut memo = Vec::new();
        for event in events {
            out.push(self.open_event(event, &mut memo).await?);
        }
        Ok(out)
    }

    /// Erases `subject`'s data for good: its data key is destroyed (a tombstone stays, so
    /// nothing can be sealed for it again), and a [`SUBJECT_SHREDDED`] event is appended to the
    /// stream `Shred-<subject>` so that every projection deletes what it derived. From then on
    /// its events read as [`ContentType::SHREDDED`] everywhere this decorator reads them.
    /// Idempotent: shredding again erases nothing and appends nothing new. Complete when it
    /// returns; after an error, call it again.
    ///
    /// # Errors
    /// Key-store and event-store errors.
    pub async fn shred(
        &self,
        subject: &SubjectId,
        metadata: &EventMetadata,
    ) -> Result<ShredReceipt> {
        let tenant = &metadata.tenant_id;
        let at = self.clock.now();
        let erased = self.guard.shred_key(tenant, subject, at).await.map_err(guard_error)?;
        let stream = StreamId::new(format!("{SHRED_CATEGORY}-{}", subject.as_str()))?;
        let payload = serde_json::json!({ "subject": subject.as_str(), "tenant": tenant.as_str() });
        let event = NewEvent {
            event_id: shred_event_id(tenant, subject),
            event_type: SUBJECT_SHREDDED.to_owned(),
            schema_version: 1,
            occurred_at: at,
            metadata: metadata.clone(),
            content_type: ContentType::json(),
            payload: Bytes::from(payload.to_string()),
        };
        // Any expected version: a repeated shred re-appends the same event id (a no-op).
        let position = match self.inner.append(&stream, ExpectedVersion::Any, &[event]).await {
            Ok(result) => result.last_position,
            // Shredded before with other metadata: that event stands.
            Err(Error::DuplicateEventId { .. }) => {
                let first = self
                    .inner
                    .read_stream(&stream, ReadStreamOptions::from_start().limit(1))
                    .await?;
                first.first().map(|e| e.position).ok_or_else(|| {
                    Error::corrupted(format!("{stream}: its SubjectShredded event is missing"))
                })?
            }
            Err(e) => return Err(e),
        };
        Ok(ShredReceipt { erased_now: erased, stream, position })
    }
}

/// The id of a subject's `SubjectShredded` event: derived from tenant and subject, so every
/// shred of one subject appends the same event (a retry is a no-op).
fn shred_event_id(tenant: &TenantId, subject: &SubjectId) -> EventId {
    use sha2::Digest as _;
    let digest = sha2::Sha256::digest(format!("{}\u{0}{}", tenant.as_str(), subject.as_str()));
    let mut bytes = [0u8; 16];
    bytes.copy_from_slice(&digest[..16]);
    uuid::Builder::from_custom_bytes(bytes).into_uuid()
}

/// What [`GuardedStore::shred`] did.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ShredReceipt {
    /// True if the key was destroyed by this call (false: it already was).
    pub erased_now: bool,
    /// The stream holding the `SubjectShredded` event.
    pub stream: StreamId,
    /// Its position in the log.
    pub position: Position,
}

fn shredded(mut event: RecordedEvent) -> RecordedEvent {
    event.content_type = ContentType::from_static(ContentType::SHREDDED);
    event.payload = Bytes::new();
    event
}

#[async_trait]
impl<S: EventStore> EventStore for GuardedStore<S> {
    async fn append(
        &self,
        stream: &StreamId,
        expected: ExpectedVersion,
        events: &[NewEvent],
    ) -> Result<AppendResult> {
        let sealed = self.seal(stream, events).await?;
        self.inner.append(stream, expected, &sealed).await
    }

    async fn read_stream(
        &self,
        stream: &StreamId,
        options: ReadStreamOptions,
    ) -> Result<Vec<RecordedEvent>> {
        let events = self.inner.read_stream(stream, options).await?;
        self.open_all(events).await
    }

    async fn read_all(&self, after: Position, limit: usize) -> Result<Vec<RecordedEvent>> {
        let events = self.inner.read_all(after, limit).await?;
        self.open_all(events).await
    }

    async fn committed_head(&self) -> Result<Option<Position>> {
        self.inner.committed_head().await
    }

    async fn stream_version(&self, stream: &StreamId) -> Result<StreamVersion> {
        self.inner.stream_version(stream).await
    }
}
