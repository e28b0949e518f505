//! A bounded cache of loaded aggregates for [`Repository::execute`](super::Repository::execute).
//!
//! The cache is only a guess of the current state: `execute` decides against it and appends with
//! `Exact(cached version)`, so a stale entry produces a conflict, never a wrong write. Anything
//! other than a successful append — a rejection, a command that decides nothing, a conflict — is
//! re-checked against a fresh load, so cached state never decides a rejection on its own.

use std::collections::{HashMap, VecDeque};
use std::sync::{Mutex, PoisonError};

use crate::StreamId;

use super::Loaded;

/// First-in, first-out eviction: cheap, and good enough for a cache whose misses cost one read.
pub(super) struct AggregateCache<A> {
    capacity: usize,
    inner: Mutex<Inner<A>>,
}

struct Inner<A> {
    entries: HashMap<StreamId, Loaded<A>>,
    order: VecDeque<StreamId>,
}

impl<A: Clone> AggregateCache<A> {
    pub(super) fn new(capacity: usize) -> Self {
        let inner = Inner { entries: HashMap::new(), order: VecDeque::new() };
        Self { capacity, inner: Mutex::new(inner) }
    }

    // A panic while holding the lock leaves at worst a missing or extra entry: still a cache.
    fn lock(&self) -> std::sync::MutexGuard<'_, Inner<A>> {
        self.inner.lock().unwrap_or_else(PoisonError::into_inner)
    }

    pub(super) fn get(&self, stream: &StreamId) -> Option<Loaded<A>> {
        self.lock().entries.get(stream).cloned()
    }

    pub(super) fn put(&self, stream: &StreamId, loaded: Loaded<A>) {
        let mut inner = self.lock();
        if inner.entries.insert(stream.clone(), loaded).is_none() {
            inner.order.push_back(stream.clone());
        }
        while inner.entries.len() > self.capacity {
            let Some(oldest) = inner.order.pop_front() else { break };
            inner.entries.remove(&oldest);
        }
    }

    pub(super) fn remove(&self, stream: &StreamId) {
        let mut inner = self.lock();
        if inner.entries.remove(stream).is_some() {
            inner.order.retain(|s| s != stream);
        }
    }

    pub(super) fn len(&self) -> usize {
        self.lock().entries.len()
    }
}
