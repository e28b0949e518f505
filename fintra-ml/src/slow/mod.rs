//! The slow brain in batch: every profile's forecast recomputed from the log as archived in the
//! cold tier, in parallel, with bounded memory, written back as `ForecastUpdated` events with
//! the risk, nudge and insight events each new forecast calls for.
//!
//! The job has three steps, each usable alone:
//!
//! 1. **Fold.** A [`ProfileFold`] takes the events of any source in batches — the cold tier's
//!    `ParquetArchive::scan` (one file and 4,096 rows in memory at a time), then the hot tier's
//!    `read_all` for the tail after the last archive — and folds the `profile-…` streams of one
//!    [`Shard`], keeping each profile's last `ForecastUpdated` from its Brain stream. Memory is
//!    what the folded profiles of that shard hold; a lake too large for one pass is folded in
//!    `n` shards, one pass each.
//! 2. **Forecast.** [`SlowBrain::forecast`] runs [`forecast_profile`] on every folded profile
//!    whose version or day moved since its last forecast, across
//!    [`SlowBrainConfig::threads`] OS threads, and evaluates [`SlowBrainConfig::insights`] on
//!    it with the insight state the last `ForecastUpdated` carried: each
//!    `brain.risk.overdraft_warning`, `brain.nudge.idle_cash`, `brain.insight.salary_received`
//!    and budget threshold fires once per transition, run after run. It returns one
//!    [`ForecastUpdate`] per profile, or the typed reason it has none. It is CPU-bound and
//!    blocks its caller until done: call it from a thread of its own
//!    (`tokio::task::spawn_blocking`), not on an async executor's worker.
//! 3. **Write.** [`append_updates`] appends each update — `ForecastUpdated` with the new
//!    insight state, then the events it fired — in one append to the profile's Brain stream
//!    ([`brain_stream`]: `brain-<id>` beside `profile-<id>`), where Pulse's webhook delivery
//!    sends the `brain.*` events on. State and events commit together. Event ids come from
//!    the content, so running the job again over the same log appends nothing new, and a run
//!    cancelled half-way is finished by running it again.
//!
//! The slow brain reads events as stored. Archives of a store sealed by `fintra-guard` hold
//! ciphertext: fold the guarded store's reads (which unseal), not its raw archive, or the
//! profiles are reported in [`Folded::skipped`] as undecodable.

mod fold;

use std::sync::atomic::{AtomicUsize, Ordering};

use chrono::NaiveDate;
use fintra_core::{EventStore, ExpectedVersion, NewEvent, StreamId, TenantId};
use serde::{Deserialize, Serialize};

pub use fold::{
    Folded, FoldedProfile, PARALLEL_DECODE_EVENTS, PENDING_EVENTS_MAX, PreviousForecast,
    ProfileFold, Shard, SkipReason, Skipped,
};

use crate::forecast::{BalanceForecast, ForecastConfig, ForecastError, forecast_profile};
pub use crate::insight::brain_stream;
use crate::insight::{BrainEvent, InsightRules, InsightState, Signals, output_event};

/// The event type the slow brain writes.
pub const FORECAST_UPDATED: &str = "ForecastUpdated";

/// How the batch runs.
#[derive(Clone, Debug, PartialEq)]
pub struct SlowBrainConfig {
    /// The forecast's settings.
    pub forecast: ForecastConfig,
    /// The last day of history for every profile; `None`: each profile's last transaction.
    pub as_of: Option<NaiveDate>,
    /// Worker threads for [`SlowBrain::forecast`] (at least 1).
    pub threads: usize,
    /// The rules for the risk, nudge and insight events evaluated on each new forecast
    /// (`None`: forecasts only).
    pub insights: Option<InsightRules>,
}

impl Default for SlowBrainConfig {
    fn default() -> Self {
        Self {
            forecast: ForecastConfig::default(),
            as_of: None,
            threads: std::thread::available_parallelism().map_or(1, std::num::NonZero::get),
            insights: Some(InsightRules::default()),
        }
    }
}

/// The body of a `ForecastUpdated` event.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ForecastUpdated {
    /// The profile's stream.
    pub profile_stream: StreamId,
    /// The profile's id (`ProfileInfo::profile_id`).
    pub profile_id: String,
    /// The profile version the forecast was made from.
    pub source_version: u64,
    /// The forecast.
    pub forecast: BalanceForecast,
    /// What the Brain has said so far (after this forecast's events), so the next run fires
    /// each risk, nudge and insight once per transition. Kept in the log, beside the events it
    /// fired: no other store to lose or get out of step.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub insight: Option<InsightState>,
}

/// One profile's new forecast, ready to append.
#[derive(Clone, Debug, PartialEq)]
pub struct ForecastUpdate {
    /// The profile's tenant (the event's metadata).
    pub tenant: TenantId,
    /// The Brain stream it goes to.
    pub stream: StreamId,
    /// The last profile event folded (the event's causation).
    pub caused_by: uuid::Uuid,
    /// The body.
    pub event: ForecastUpdated,
    /// The risk, nudge and insight events this forecast calls for (each once per transition).
    pub fired: Vec<BrainEvent>,
}

impl ForecastUpdate {
    /// The events to append, in one batch: `ForecastUpdated` (with the insight state after
    /// them), then each fired [`BrainEvent`] ([`BrainEvent::new_event`], dated the forecast's
    /// `as_of`). State and events commit together or not at all.
    ///
    /// # Errors
    /// As [`new_event`](Self::new_event) and [`BrainEvent::new_event`].
    pub fn new_events(&self) -> fintra_core::Result<Vec<NewEvent>> {
        let mut out = vec![self.new_event()?];
        let (profile, day) = (&self.event.profile_stream, self.event.forecast.as_of);
        for fired in &self.fired {
            out.push(fired.new_event(profile, &self.tenant, day)?);
        }
        Ok(out)
    }

    /// The `ForecastUpdated` event: JSON, dated the end of `as_of`, with an id derived from
    /// its stream and content, naming the profile as its data subject (`fintra-subject`), so
    /// a `fintra-guard` store seals it with the profile's key and erases it with the profile.
    ///
    /// # Errors
    /// `Codec` if the body does not encode (it always does for a forecast from
    /// [`SlowBrain::forecast`]).
    pub fn new_event(&self) -> fintra_core::Result<NewEvent> {
        let payload = serde_json::to_vec(&self.event).map_err(|e| fintra_core::Error::Codec {
            event_type: FORECAST_UPDATED.to_owned(),
            schema_version: 1,
            source: e.into(),
        })?;
        let (profile, day) = (&self.event.profile_stream, self.event.forecast.as_of);
        Ok(output_event(
            profile,
            &self.tenant,
            Some(self.caused_by),
            FORECAST_UPDATED,
            day,
            payload,
        ))
    }
}

/// A profile without a new forecast, and why.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ForecastFailure {
    /// Its tenant.
    pub tenant: TenantId,
    /// The profile's stream.
    pub stream: StreamId,
    /// Why.
    pub error: ForecastError,
}

/// What [`SlowBrain::forecast`] made, in the order of its input.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Forecasts {
    /// One per profile with something new since its last `ForecastUpdated`.
    pub updates: Vec<ForecastUpdate>,
    /// Profiles whose last `ForecastUpdated` was made from the same version for the same day:
    /// nothing to do.
    pub unchanged: usize,
    /// The others, with their typed reason (too little history, no cash account, …).
    pub failures: Vec<ForecastFailure>,
}

/// The batch forecaster.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct SlowBrain {
    config: SlowBrainConfig,
}

impl SlowBrain {
    /// A slow brain with `config`.
    pub fn new(config: SlowBrainConfig) -> Self {
        Self { config }
    }

    /// Its settings.
    pub fn config(&self) -> &SlowBrainConfig {
        &self.config
    }

    /// Forecasts every profile of `folded`, on [`SlowBrainConfig::threads`] threads. Blocks
    /// until all are done (see the module documentation); the result does not depend on the
    /// number of threads.
    pub fn forecast(&self, folded: &[FoldedProfile]) -> Forecasts {
        let cursor = AtomicUsize::new(0);
        // Each worker takes the next profile and keeps (index, result); merged in input order.
        let work = || {
            let mut done = Vec::new();
            loop {
                let n = cursor.fetch_add(1, Ordering::Relaxed);
                let Some(profile) = folded.get(n) else { return done };
                done.push((n, self.one(profile)));
            }
        };
        let threads = self.config.threads.clamp(1, folded.len().max(1));
        let mut made = std::thread::scope(|scope| {
            let helpers: Vec<_> = (1..threads).map(|_| scope.spawn(work)).collect();
            let mut all = work();
            for helper in helpers {
                match helper.join() {
                    Ok(done) => all.extend(done),
                    Err(panic) => std::panic::resume_unwind(panic),
                }
            }
            all
        });
        made.sort_unstable_by_key(|(n, _)| *n);
        let mut out = Forecasts::default();
        for (_, result) in made {
            match result {
                Ok(Some(update)) => out.updates.push(update),
                Ok(None) => out.unchanged += 1,
                Err(failure) => out.failures.push(failure),
            }
        }
        out
    }

    /// The update for one profile; `None` when its last forecast is still current.
    fn one(&self, folded: &FoldedProfile) -> Result<Option<ForecastUpdate>, ForecastFailure> {
        let fail = |error| ForecastFailure {
            tenant: folded.tenant.clone(),
            stream: folded.stream.clone(),
            error,
        };
        let info = folded.profile.info.as_ref().ok_or_else(|| fail(ForecastError::NoProfile))?;
        let as_of = self
            .config
            .as_of
            .or_else(|| folded.profile.last_transaction_date())
            .unwrap_or_else(|| info.created_at.date_naive());
        let previous = folded.previous.as_ref();
        if previous.is_some_and(|p| p.source_version == folded.version.0 && p.as_of == as_of) {
            return Ok(None);
        }
        let forecast =
            forecast_profile(&folded.profile, as_of, &self.config.forecast).map_err(fail)?;
        let stream = brain_stream(&folded.stream).map_err(|_| fail(ForecastError::NoProfile))?;
        let (fired, insight) = match &self.config.insights {
            Some(rules) => {
                let mut state = previous.and_then(|p| p.insight.clone()).unwrap_or_default();
                let fired = Signals::from_profile(&folded.profile, as_of, Some(forecast.clone()))
                    .map(|signals| state.evaluate(rules, &signals))
                    .unwrap_or_default();
                (fired, Some(state))
            }
            None => (Vec::new(), None),
        };
        Ok(Some(ForecastUpdate {
            tenant: folded.tenant.clone(),
            stream,
            caused_by: folded.last_event,
            event: ForecastUpdated {
                profile_stream: folded.stream.clone(),
                profile_id: info.profile_id.clone(),
                source_version: folded.version.0,
                forecast,
                insight,
            },
            fired,
        }))
    }
}

/// What [`append_updates`] did.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Appended {
    /// Updates written.
    pub written: usize,
    /// Brain events written with them.
    pub fired: usize,
    /// Updates already in the log (a rerun), left as they were.
    pub replayed: usize,
}

/// Appends each update to its Brain stream, `ForecastUpdated` and its fired events in one
/// append ([`ForecastUpdate::new_events`]), at any version.
///
/// Cancel-safe: each append commits whole or not at all, and the ids are derived from the
/// content, so calling again with the same updates writes only what is missing.
///
/// # Errors
/// The first store error; the updates before it are written.
pub async fn append_updates<S: EventStore + ?Sized>(
    store: &S,
    updates: &[ForecastUpdate],
) -> fintra_core::Result<Appended> {
    let mut done = Appended::default();
    for update in updates {
        let events = update.new_events()?;
        let result = store.append(&update.stream, ExpectedVersion::Any, &events).await?;
        if result.replayed {
            done.replayed += 1;
        } else {
            done.written += 1;
            done.fired += update.fired.len();
        }
    }
    Ok(done)
}

/// An event id from what the event says: the same stream, type, time and body give the same
/// id (so a rerun is an idempotent replay), anything else a different one. FNV-1a, 128 bits,
/// marked as a version 8 (custom) UUID.
pub(crate) fn content_id(
    stream: &StreamId,
    event_type: &str,
    occurred_at: chrono::DateTime<chrono::Utc>,
    payload: &[u8],
) -> uuid::Uuid {
    const PRIME: u128 = 0x0000_0000_0100_0000_0000_0000_0000_013B;
    let mut hash: u128 = 0x6c62_272e_07bb_0142_62b8_2175_6295_c58d;
    let micros = occurred_at.timestamp_micros().to_le_bytes();
    for part in [stream.as_str().as_bytes(), event_type.as_bytes(), &micros, payload] {
        for byte in part.iter().chain(&[0xff]) {
            hash = (hash ^ u128::from(*byte)).wrapping_mul(PRIME);
        }
    }
    uuid::Builder::from_custom_bytes(hash.to_be_bytes()).into_uuid()
}

#[cfg(test)]
mod tests;
