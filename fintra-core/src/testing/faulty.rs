//! A fault-injecting [`EventStore`] wrapper for simulation tests.
//!
//! Driven by a seeded generator, it fails appends before they reach the inner store ("the
//! request never arrived"), after the inner store committed ("the reply was lost"), and cuts
//! global-log pages short (allowed by the contract: only an empty `read_all` page means "nothing
//! more for now"; stream pages are always complete).

use std::sync::Mutex;

use async_trait::async_trait;

use crate::{
    AppendResult, Error, EventStore, ExpectedVersion, NewEvent, Position, ReadStreamOptions,
    RecordedEvent, Result, StreamId, StreamVersion,
};

/// A small deterministic generator (SplitMix64): the same seed gives the same run.
#[derive(Clone, Debug)]
pub struct SimRng(u64);

impl SimRng {
    /// A generator from `seed`.
    pub fn new(seed: u64) -> Self {
        Self(seed)
    }

    /// The next 64 random bits.
    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// A number in `0..bound` (`bound` > 0).
    pub fn below(&mut self, bound: u64) -> u64 {
        self.next_u64() % bound.max(1)
    }

    /// True with probability `percent`/100.
    pub fn chance(&mut self, percent: u64) -> bool {
        self.below(100) < percent
    }
}

/// How often each fault happens, in percent of calls.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct FaultRates {
    /// Appends failed before reaching the inner store.
    pub fail_before_commit: u64,
    /// Appends failed after the inner store committed them.
    pub fail_after_commit: u64,
    /// Global-log reads that return a shorter (non-empty) page than available.
    pub short_read: u64,
}

/// The error an injected fault returns.
#[derive(Debug, thiserror::Error)]
#[error("injected fault: {0}")]
pub struct InjectedFault(pub &'static str);

/// Wraps a store and injects faults from a seeded generator.
#[derive(Debug)]
pub struct FaultyStore<S> {
    inner: S,
    rates: FaultRates,
    rng: Mutex<SimRng>,
}

impl<S: EventStore> FaultyStore<S> {
    /// Wraps `inner`, drawing faults from `seed` at `rates`.
    pub fn new(inner: S, seed: u64, rates: FaultRates) -> Self {
        Self { inner, rates, rng: Mutex::new(SimRng::new(seed)) }
    }

    /// The wrapped store, without faults.
    pub fn inner(&self) -> &S {
        &self.inner
    }

    fn roll(&self, percent: u64) -> bool {
        self.rng.lock().unwrap_or_else(std::sync::PoisonError::into_inner).chance(percent)
    }

    fn shorten(&self, mut page: Vec<RecordedEvent>) -> Vec<RecordedEvent> {
        if page.len() > 1 && self.roll(self.rates.short_read) {
            let mut rng = self.rng.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
            let keep = 1 + rng.below(u64::try_from(page.len() - 1).unwrap_or(1));
            page.truncate(usize::try_from(keep).unwrap_or(1));
        }
        page
    }
}

#[async_trait]
impl<S: EventStore> EventStore for FaultyStore<S> {
    async fn append(
        &self,
        stream: &StreamId,
        expected: ExpectedVersion,
        events: &[NewEvent],
    ) -> Result<AppendResult> {
        if self.roll(self.rates.fail_before_commit) {
            return Err(Error::backend(InjectedFault("append failed before commit")));
        }
        let result = self.inner.append(stream, expected, events).await?;
        if self.roll(self.rates.fail_after_commit) {
            return Err(Error::backend(InjectedFault("append committed, reply lost")));
        }
        Ok(result)
    }

    async fn read_stream(
        &self,
        stream: &StreamId,
        options: ReadStreamOptions,
    ) -> Result<Vec<RecordedEvent>> {
        // Stream pages are complete by contract; only global-log pages may be short.
        self.inner.read_stream(stream, options).await
    }

    async fn read_all(&self, after: Position, limit: usize) -> Result<Vec<RecordedEvent>> {
        Ok(self.shorten(self.inner.read_all(after, limit).await?))
    }

    async fn committed_head(&self) -> Result<Option<Position>> {
        self.inner.committed_head().await
    }

    async fn stream_version(&self, stream: &StreamId) -> Result<StreamVersion> {
        self.inner.stream_version(stream).await
    }
}
