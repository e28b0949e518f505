//! # fintra-core — the event-sourcing kernel of fintra
//!
//! fintra keeps an immutable event log as the source of truth and derives state from it. This
//! crate is the kernel every other fintra crate builds on — no domain code, no database driver,
//! no async runtime:
//!
//! - the event envelope ([`NewEvent`], [`RecordedEvent`], [`EventMetadata`]);
//! - the storage contract ([`EventStore`], documented in its `# Contract` section, with
//!   conveniences on [`EventStoreExt`]) and [`SnapshotStore`];
//! - aggregates as pure deciders ([`Aggregate`]) and the [`Repository`] that loads them, executes
//!   commands with bounded retries, answers time travel and builds what-if [`Fork`]s;
//! - codecs ([`JsonCodec`], [`ProstCodec`]) and [`Upcasters`];
//! - [`Money`] in integer minor units;
//! - every bound in [`limits`], and the helpers store authors need in [`backend`];
//! - [`InMemoryEventStore`], a complete backend and the embedded default;
//! - with the `testing` feature, `testing::conformance` (the suite every store passes),
//!   `testing::snapshots` (the suite every snapshot store passes) and `testing::AggregateSpec`
//!   (given/when/then).
//!
//! The double-entry ledger is `fintra-ledger`; the FintraOS domain (FOS types, Connect, the
//! Financial Twin) is `fintra-twin`.
//!
//! ```
//! use fintra_core::{
//!     EventStore, EventStoreExt, ExpectedVersion, InMemoryEventStore, NewEvent, Position,
//!     StreamId, ContentType, EventMetadata,
//! };
//! # futures::executor::block_on(async {
//! let store = InMemoryEventStore::new();
//! let stream = StreamId::new("account-1")?;
//! let event = NewEvent {
//!     event_id: uuid::Uuid::from_u128(1),
//!     event_type: "Opened".into(),
//!     schema_version: 1,
//!     occurred_at: chrono::DateTime::UNIX_EPOCH,
//!     metadata: EventMetadata::default(),
//!     content_type: ContentType::json(),
//!     payload: br#"{"owner":"ada"}"#.as_slice().into(),
//! };
//! let appended = store.append_one(&stream, ExpectedVersion::NoStream, event.clone()).await?;
//! // A retry of the same event is a no-op returning the original result.
//! let retry = store.append_one(&stream, ExpectedVersion::NoStream, event).await?;
//! assert!(retry.replayed && retry.same_append_as(&appended));
//! assert_eq!(store.read_all(Position::START, 100).await?.len(), 1);
//! # Ok::<(), fintra_core::Error>(())
//! # }).unwrap();
//! ```

mod aggregate;
mod clock;
mod codec;
mod error;
mod event;
mod idempotency;
mod ids;
pub mod limits;
mod memory;
mod money;
mod repository;
mod snapshot;
mod store;

#[cfg(feature = "testing")]
pub mod testing;

pub use aggregate::{Aggregate, DecideContext, DomainEvent};
pub use clock::{
    Clock, IdGenerator, ManualClock, SequentialIdGenerator, SystemClock, UuidV7Generator,
};
pub use codec::{Codec, JsonCodec, ProstCodec, RawEvent, UpcastFn, Upcasters};
pub use error::{BoxError, Error, Result};
pub use event::{
    Actor, ContentType, EventMetadata, NewEvent, RecordedEvent, SUBJECT_HEADER, SUBJECT_SHREDDED,
    truncate_to_micros, validate_timestamp,
};
pub use ids::{EventId, Position, StreamId, StreamVersion, TenantId};
pub use memory::{InMemoryEventStore, InMemorySnapshotStore};
pub use money::{Asset, AssetKind, Money, MoneyError};
pub use repository::{Branch, ExecuteError, Executed, Fork, Loaded, Repository};
pub use snapshot::{Snapshot, SnapshotStore};
pub use store::{
    AppendResult, AsOf, EventStore, EventStoreExt, ExpectedVersion, ReadStreamOptions,
    is_last_stream_page,
};

/// What a store author needs besides the contract: the checks every store runs before touching
/// its backend, the idempotency rule, and page bounds. Application code rarely needs these.
pub mod backend {
    pub use crate::error::check_limit;
    pub use crate::event::validate_batch;
    pub use crate::idempotency::replayed_append;
    pub use crate::store::{check_read_limit, page_payload_bytes, truncate_to_page_bytes};
}

#[cfg(doctest)]
#[doc = include_str!("../../README.md")]
struct ReadmeDoctests;

#[cfg(doctest)]
#[doc = include_str!("../../docs/architecture.md")]
struct ArchitectureGuide;
