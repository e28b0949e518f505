//! Profiles folded out of a log read in batches, in whatever order the batches come.

use std::collections::{BTreeMap, HashMap};

use chrono::NaiveDate;
use fintra_core::{
    Aggregate, Codec, JsonCodec, Position, RawEvent, RecordedEvent, StreamId, StreamVersion,
    TenantId, Upcasters,
};
use fintra_twin::{Profile, ProfileEvent};

use super::{FORECAST_UPDATED, ForecastUpdated};
use crate::insight::InsightState;

/// Events held back per stream while an earlier version has not been seen; past it the
/// stream is skipped as [`SkipReason::TooManyPending`] rather than growing without bound.
pub const PENDING_EVENTS_MAX: usize = 10_000;

/// One of `count` disjoint parts of the profiles, picked by a hash of the stream id, so a
/// batch job can fold a bounded share of a large lake per pass.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Shard {
    index: u32,
    count: u32,
}

impl Shard {
    /// Every profile in one pass.
    pub const ALL: Self = Self { index: 0, count: 1 };

    /// Part `index` of `count`; `None` unless `index < count`.
    pub fn new(index: u32, count: u32) -> Option<Self> {
        (index < count).then_some(Self { index, count })
    }

    /// The `count` parts, in order (none when `count` is 0).
    pub fn split(count: u32) -> impl Iterator<Item = Self> {
        (0..count).map(move |index| Self { index, count })
    }

    /// This part's index.
    pub fn index(&self) -> u32 {
        self.index
    }

    /// How many parts there are.
    pub fn count(&self) -> u32 {
        self.count
    }

    /// Whether `stream` belongs to this part (FNV-1a of the name, stable across machines).
    pub fn holds(&self, stream: &StreamId) -> bool {
        let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
        for byte in stream.as_str().bytes() {
            hash = (hash ^ u64::from(byte)).wrapping_mul(0x0000_0100_0000_01b3);
        }
        hash % u64::from(self.count.max(1)) == u64::from(self.index)
    }
}

/// Why a profile stream was not folded.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum SkipReason {
    /// An event did not decode (an unknown type, a sealed payload read without its key, a
    /// schema no upcaster knows).
    Undecodable {
        /// Its version.
        version: StreamVersion,
        /// The codec's message.
        reason: String,
    },
    /// The twin refused to fold a decoded event.
    Unfoldable {
        /// Its version.
        version: StreamVersion,
        /// The aggregate's message.
        reason: String,
    },
    /// Versions are missing: folded up to `folded`, the next version seen is `next_seen`.
    /// The missing events are in an archive or a tail that was not read.
    Gap {
        /// The last version folded (0: none).
        folded: StreamVersion,
        /// The earliest version held back.
        next_seen: StreamVersion,
    },
    /// More than [`PENDING_EVENTS_MAX`] events waited for a missing version.
    TooManyPending,
    /// The stream folded, but holds no `ProfileCreated`.
    NeverCreated,
}

impl std::fmt::Display for SkipReason {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Undecodable { version, reason } => {
                write!(f, "the event at version {version} does not decode: {reason}")
            }
            Self::Unfoldable { version, reason } => {
                write!(f, "the event at version {version} cannot be folded: {reason}")
            }
            Self::Gap { folded, next_seen } => write!(
                f,
                "versions after {folded} are missing (the next one read is {next_seen}): read \
                 every archive and the hot tail"
            ),
            Self::TooManyPending => {
                write!(f, "more than {PENDING_EVENTS_MAX} events waited for a missing version")
            }
            Self::NeverCreated => f.write_str("the stream holds no ProfileCreated"),
        }
    }
}

/// A profile stream that was not folded, and why.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Skipped {
    /// Its tenant.
    pub tenant: TenantId,
    /// The stream.
    pub stream: StreamId,
    /// Why.
    pub reason: SkipReason,
}

/// What the last `ForecastUpdated` of a profile (read from its Brain stream) said.
#[derive(Clone, Debug, PartialEq)]
pub struct PreviousForecast {
    /// The profile version it was made from.
    pub source_version: u64,
    /// Its last day of history.
    pub as_of: NaiveDate,
    /// The insight state after it (what has been said, for once-per-transition events).
    pub insight: Option<InsightState>,
    /// Where it is in the log.
    pub position: Position,
}

/// A profile as of the last event folded.
#[derive(Clone, Debug)]
pub struct FoldedProfile {
    /// Its tenant.
    pub tenant: TenantId,
    /// Its stream (`profile-…`).
    pub stream: StreamId,
    /// The twin.
    pub profile: Profile,
    /// The last version folded.
    pub version: StreamVersion,
    /// The id of the event at that version.
    pub last_event: uuid::Uuid,
    /// The highest log position folded.
    pub position: Position,
    /// The last forecast the slow brain wrote for it, when its Brain stream was read too.
    pub previous: Option<PreviousForecast>,
}

/// What a fold ends with, sorted by tenant and stream.
#[derive(Clone, Debug, Default)]
pub struct Folded {
    /// Profiles folded to the end of what was read.
    pub profiles: Vec<FoldedProfile>,
    /// Profile streams that could not be.
    pub skipped: Vec<Skipped>,
}

struct Folding {
    profile: Profile,
    version: StreamVersion,
    last_event: uuid::Uuid,
    position: Position,
    pending: BTreeMap<u64, Prepared>,
    failed: Option<SkipReason>,
}

/// An event decoded and stripped of its payload, ready to fold.
struct Prepared {
    key: (TenantId, StreamId),
    version: StreamVersion,
    event_id: uuid::Uuid,
    position: Position,
    /// `None`: shredded (advances the version, folds nothing).
    decoded: Result<Option<ProfileEvent>, String>,
}

/// Batches at least this large are decoded on several threads.
pub const PARALLEL_DECODE_EVENTS: usize = 256;

/// Folds the `profile-…` streams of one [`Shard`] out of events handed over in batches.
///
/// It also keeps each profile's latest `ForecastUpdated` from its Brain stream
/// ([`FoldedProfile::previous`]), so the slow brain knows what it said last time. Other
/// events, and those of other shards, are ignored. Each stream's events are folded in
/// version order: an event that arrives before its predecessor is held back (up to
/// [`PENDING_EVENTS_MAX`]) and one already folded (overlapping archives, the hot tail read
/// after them) is ignored. Shredded events advance the version without being folded, as the
/// repository does. A stream that cannot be folded is reported in [`Folded::skipped`] with
/// its reason; it never stops the others.
///
/// Payloads go through `upcasters` and the codec the twin's repository uses (JSON by
/// default), so the fold sees exactly what `Repository::load` would.
pub struct ProfileFold<C = JsonCodec<ProfileEvent>> {
    codec: C,
    upcasters: Upcasters,
    shard: Shard,
    threads: usize,
    streams: HashMap<(TenantId, StreamId), Folding>,
    previous: HashMap<(TenantId, StreamId), PreviousForecast>,
    events: u64,
}

impl<C> std::fmt::Debug for ProfileFold<C> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ProfileFold")
            .field("shard", &self.shard)
            .field("streams", &self.streams.len())
            .field("events", &self.events)
            .finish_non_exhaustive()
    }
}

impl ProfileFold {
    /// A fold of `shard` with the JSON codec and no upcasters.
    pub fn new(shard: Shard) -> Self {
        Self::with_codec(shard, JsonCodec::new(), Upcasters::new())
    }
}

impl<C: Codec<ProfileEvent>> ProfileFold<C> {
    /// A fold of `shard` decoding with `codec` after `upcasters`.
    pub fn with_codec(shard: Shard, codec: C, upcasters: Upcasters) -> Self {
        let threads = std::thread::available_parallelism().map_or(1, std::num::NonZero::get);
        Self {
            codec,
            upcasters,
            shard,
            threads,
            streams: HashMap::new(),
            previous: HashMap::new(),
            events: 0,
        }
    }

    /// Decodes batches of [`PARALLEL_DECODE_EVENTS`] events or more on `threads` threads
    /// (default: every core; 1 decodes on the caller's thread only). Folding stays in order
    /// on the caller's thread, so the result is the same.
    #[must_use]
    pub fn with_threads(mut self, threads: usize) -> Self {
        self.threads = threads.max(1);
        self
    }

    /// The shard folded.
    pub fn shard(&self) -> Shard {
        self.shard
    }

    /// Profile events of this shard taken so far.
    pub fn events(&self) -> u64 {
        self.events
    }

    /// Profile streams of this shard seen so far.
    pub fn streams(&self) -> usize {
        self.streams.len()
    }

    /// Takes a batch of events (decoding a large batch on several threads).
    pub fn extend(&mut self, events: impl IntoIterator<Item = RecordedEvent>) {
        let mut mine = Vec::new();
        for event in events {
            if self.takes(&event) {
                mine.push(event);
            } else {
                self.remember(&event);
            }
        }
        let threads = self.threads.min(mine.len() / PARALLEL_DECODE_EVENTS).max(1);
        let this: &Self = self;
        let prepared: Vec<Prepared> = if threads == 1 {
            mine.iter().map(|e| this.prepare(e)).collect()
        } else {
            let chunk = mine.len().div_ceil(threads);
            std::thread::scope(|scope| {
                let parts: Vec<_> = mine
                    .chunks(chunk)
                    .map(|part| {
                        scope
                            .spawn(move || part.iter().map(|e| this.prepare(e)).collect::<Vec<_>>())
                    })
                    .collect();
                let mut joined = Vec::with_capacity(mine.len());
                for part in parts {
                    match part.join() {
                        Ok(done) => joined.extend(done),
                        Err(panic) => std::panic::resume_unwind(panic),
                    }
                }
                joined
            })
        };
        for event in prepared {
            self.take(event);
        }
    }

    /// Takes one event.
    pub fn push(&mut self, event: RecordedEvent) {
        if self.takes(&event) {
            let prepared = self.prepare(&event);
            self.take(prepared);
        } else {
            self.remember(&event);
        }
    }

    /// Keeps the latest `ForecastUpdated` of each profile of this shard from its Brain stream
    /// (`brain-<id>` for `profile-<id>`). One that does not decode is ignored: the next run
    /// then forecasts the profile again, with a fresh insight state.
    fn remember(&mut self, event: &RecordedEvent) {
        if event.event_type != FORECAST_UPDATED || event.stream_id.category() != "brain" {
            return;
        }
        let id = event.stream_id.as_str().strip_prefix("brain-").unwrap_or_default();
        let Ok(profile) = StreamId::new(format!("{}-{id}", Profile::CATEGORY)) else { return };
        if !self.shard.holds(&profile) {
            return;
        }
        let Ok(body) = serde_json::from_slice::<ForecastUpdated>(&event.payload) else { return };
        if body.profile_stream != profile {
            return;
        }
        let key = (event.metadata.tenant_id.clone(), profile);
        if self.previous.get(&key).is_some_and(|p| p.position >= event.position) {
            return;
        }
        let previous = PreviousForecast {
            source_version: body.source_version,
            as_of: body.forecast.as_of,
            insight: body.insight,
            position: event.position,
        };
        self.previous.insert(key, previous);
    }

    fn takes(&self, event: &RecordedEvent) -> bool {
        event.stream_id.category() == Profile::CATEGORY && self.shard.holds(&event.stream_id)
    }

    fn prepare(&self, event: &RecordedEvent) -> Prepared {
        let decoded = if event.is_shredded() {
            Ok(None)
        } else {
            self.upcasters
                .upcast(RawEvent::from(event))
                .and_then(|raw| self.codec.decode(&raw))
                .map(Some)
                .map_err(|e| e.to_string())
        };
        Prepared {
            key: (event.metadata.tenant_id.clone(), event.stream_id.clone()),
            version: event.stream_version,
            event_id: event.event_id,
            position: event.position,
            decoded,
        }
    }

    fn take(&mut self, event: Prepared) {
        self.events += 1;
        let folding = self.streams.entry(event.key.clone()).or_insert_with(|| Folding {
            profile: Profile::default(),
            version: StreamVersion::NONE,
            last_event: uuid::Uuid::nil(),
            position: Position::START,
            pending: BTreeMap::new(),
            failed: None,
        });
        if folding.failed.is_some() || event.version <= folding.version {
            return;
        }
        if event.version.0 != folding.version.0.saturating_add(1) {
            if folding.pending.contains_key(&event.version.0) {
                return; // held back already (a re-read)
            }
            if folding.pending.len() >= PENDING_EVENTS_MAX {
                folding.pending.clear();
                folding.failed = Some(SkipReason::TooManyPending);
            } else {
                folding.pending.insert(event.version.0, event);
            }
            return;
        }
        let mut next = Some(event);
        while let Some(event) = next.take() {
            if let Err(reason) = fold(folding, event) {
                folding.pending.clear();
                folding.failed = Some(reason);
                return;
            }
            next = folding.pending.remove(&folding.version.0.saturating_add(1));
        }
    }

    /// The profiles folded, and the streams that could not be.
    pub fn finish(mut self) -> Folded {
        let mut out = Folded::default();
        for ((tenant, stream), folding) in self.streams {
            let previous = self.previous.remove(&(tenant.clone(), stream.clone()));
            let reason = if let Some(failed) = folding.failed {
                Some(failed)
            } else if let Some((&next, _)) = folding.pending.first_key_value() {
                Some(SkipReason::Gap { folded: folding.version, next_seen: StreamVersion(next) })
            } else if folding.profile.info.is_none() {
                Some(SkipReason::NeverCreated)
            } else {
                None
            };
            match reason {
                Some(reason) => out.skipped.push(Skipped { tenant, stream, reason }),
                None => out.profiles.push(FoldedProfile {
                    tenant,
                    stream,
                    profile: folding.profile,
                    version: folding.version,
                    last_event: folding.last_event,
                    position: folding.position,
                    previous,
                }),
            }
        }
        out.profiles.sort_by(|a, b| (&a.tenant, &a.stream).cmp(&(&b.tenant, &b.stream)));
        out.skipped.sort_by(|a, b| (&a.tenant, &a.stream).cmp(&(&b.tenant, &b.stream)));
        out
    }
}

/// Folds the next event of a stream.
fn fold(folding: &mut Folding, event: Prepared) -> Result<(), SkipReason> {
    let version = event.version;
    let decoded = event.decoded.map_err(|reason| SkipReason::Undecodable { version, reason })?;
    if let Some(decoded) = decoded {
        folding
            .profile
            .try_apply(&decoded)
            .map_err(|e| SkipReason::Unfoldable { version, reason: e.to_string() })?;
    }
    folding.version = version;
    folding.last_event = event.event_id;
    folding.position = folding.position.max(event.position);
    Ok(())
}
