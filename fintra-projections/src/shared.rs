//! View documents kept in process memory: the embedded default's answer to Redis. A
//! [`SharedViewsSink`] runs any [`RedisProjection`] into a [`SharedViews`] table that readers
//! (an HTTP server, a UI) clone and read while the runner writes.

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, RwLock};

use async_trait::async_trait;
use fintra_core::{Position, RecordedEvent};

use crate::redis::{RedisProjection, subject_of};
use crate::runner::{ProjectionError, Sink};

/// A view document and the log position it reflects.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ViewDocument {
    /// The position of the event that produced it.
    pub position: Position,
    /// The JSON text.
    pub json: Arc<str>,
}

#[derive(Debug, Default)]
struct Table {
    docs: HashMap<String, ViewDocument>,
    by_subject: HashMap<String, HashSet<String>>,
    checkpoint: Position,
}

/// A table of view documents shared between one writer (a [`SharedViewsSink`]) and any number
/// of readers. Cloning is cheap; every clone sees the same table.
#[derive(Clone, Debug, Default)]
pub struct SharedViews {
    table: Arc<RwLock<Table>>,
}

impl SharedViews {
    /// An empty table.
    pub fn new() -> Self {
        Self::default()
    }

    fn read(&self) -> std::sync::RwLockReadGuard<'_, Table> {
        self.table.read().unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    fn write(&self) -> std::sync::RwLockWriteGuard<'_, Table> {
        self.table.write().unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// The document under `key`, if any.
    pub fn get(&self, key: &str) -> Option<ViewDocument> {
        self.read().docs.get(key).cloned()
    }

    /// Every key starting with `prefix`, sorted.
    pub fn keys_with_prefix(&self, prefix: &str) -> Vec<String> {
        let mut keys: Vec<String> =
            self.read().docs.keys().filter(|k| k.starts_with(prefix)).cloned().collect();
        keys.sort();
        keys
    }

    /// The log position everything up to which is reflected.
    pub fn checkpoint(&self) -> Position {
        self.read().checkpoint
    }

    /// Number of documents.
    pub fn len(&self) -> usize {
        self.read().docs.len()
    }

    /// True when there is no document.
    pub fn is_empty(&self) -> bool {
        self.read().docs.is_empty()
    }
}

/// Runs a [`RedisProjection`] (any projection that turns events into whole view documents) into
/// a [`SharedViews`] table. A document is replaced only by one from a later position; an
/// erasure notice deletes every document derived from its subject.
pub struct SharedViewsSink<P> {
    projection: P,
    views: SharedViews,
}

impl<P> std::fmt::Debug for SharedViewsSink<P> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SharedViewsSink").finish_non_exhaustive()
    }
}

impl<P: RedisProjection> SharedViewsSink<P> {
    /// A sink writing `projection`'s documents into `views`.
    pub fn new(projection: P, views: SharedViews) -> Self {
        Self { projection, views }
    }

    /// The table it writes.
    pub fn views(&self) -> &SharedViews {
        &self.views
    }
}

#[async_trait]
impl<P: RedisProjection> Sink for SharedViewsSink<P> {
    fn name(&self) -> String {
        format!("{}@v{}", self.projection.name(), self.projection.version())
    }

    fn handles(&self, event_type: &str) -> bool {
        self.projection.handles(event_type)
    }

    async fn checkpoint(&mut self) -> Result<Position, ProjectionError> {
        Ok(self.views.checkpoint())
    }

    async fn apply(
        &mut self,
        events: &[RecordedEvent],
        through: Position,
    ) -> Result<(), ProjectionError> {
        // The documents are computed first (the projection may await), then written under one
        // lock: a reader sees the table before the page or after it.
        let mut writes: Vec<Result<(String, Vec<(String, String)>), String>> = Vec::new();
        for event in events {
            match event.shredded_subject() {
                Some(subject) => writes.push(Err(subject)),
                None => writes.push(Ok((subject_of(event), self.projection.views(event).await?))),
            }
        }
        let mut table = self.views.write();
        for (event, write) in events.iter().zip(writes) {
            match write {
                Err(subject) => {
                    for key in table.by_subject.remove(&subject).unwrap_or_default() {
                        table.docs.remove(&key);
                    }
                }
                Ok((subject, docs)) => {
                    for (key, json) in docs {
                        let newer =
                            table.docs.get(&key).is_none_or(|d| d.position < event.position);
                        if newer {
                            let doc = ViewDocument { position: event.position, json: json.into() };
                            table.docs.insert(key.clone(), doc);
                            table.by_subject.entry(subject.clone()).or_default().insert(key);
                        }
                    }
                }
            }
        }
        table.checkpoint = table.checkpoint.max(through);
        Ok(())
    }

    async fn park(&mut self, event: &RecordedEvent, _reason: &str) -> Result<(), ProjectionError> {
        let mut table = self.views.write();
        table.checkpoint = table.checkpoint.max(event.position);
        Ok(())
    }
}
