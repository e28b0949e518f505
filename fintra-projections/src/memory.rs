//! An in-memory sink: the embedded default and the reference in tests.

use async_trait::async_trait;
use fintra_core::{Position, RecordedEvent};

use crate::runner::{ProjectionError, Sink};

/// A projection folded in memory.
pub trait MemoryProjection: Send {
    /// The projection's name.
    fn name(&self) -> &str;
    /// Its version (bump it to rebuild).
    fn version(&self) -> u32 {
        1
    }
    /// Whether it wants events of this type.
    fn handles(&self, event_type: &str) -> bool;
    /// Folds one event.
    ///
    /// # Errors
    /// [`ProjectionError::Refused`] for an event it cannot take.
    fn apply(&mut self, event: &RecordedEvent) -> Result<(), ProjectionError>;
    /// Deletes everything derived from `subject`'s events (the subject was erased).
    fn forget(&mut self, subject: &str);
}

/// A [`MemoryProjection`] with its checkpoint and parked events.
#[derive(Debug, Default)]
pub struct MemorySink<P> {
    /// The projection (its state is the read model).
    pub projection: P,
    checkpoint: Position,
    parked: Vec<(Position, String)>,
}

impl<P: MemoryProjection> MemorySink<P> {
    /// A sink starting at position 0.
    pub fn new(projection: P) -> Self {
        Self { projection, checkpoint: Position::START, parked: Vec::new() }
    }

    /// Events parked so far (position, reason).
    pub fn parked(&self) -> &[(Position, String)] {
        &self.parked
    }
}

#[async_trait]
impl<P: MemoryProjection> Sink for MemorySink<P> {
    fn name(&self) -> String {
        format!("{}@v{}", self.projection.name(), self.projection.version())
    }

    fn handles(&self, event_type: &str) -> bool {
        self.projection.handles(event_type)
    }

    async fn checkpoint(&mut self) -> Result<Position, ProjectionError> {
        Ok(self.checkpoint)
    }

    async fn apply(
        &mut self,
        events: &[RecordedEvent],
        through: Position,
    ) -> Result<(), ProjectionError> {
        for event in events {
            match event.shredded_subject() {
                Some(subject) => self.projection.forget(&subject),
                None => self.projection.apply(event)?,
            }
            // One event at a time: a refusal leaves the checkpoint after the last good one.
            self.checkpoint = event.position;
        }
        self.checkpoint = self.checkpoint.max(through);
        Ok(())
    }

    async fn park(&mut self, event: &RecordedEvent, reason: &str) -> Result<(), ProjectionError> {
        self.parked.push((event.position, reason.to_owned()));
        self.checkpoint = self.checkpoint.max(event.position);
        Ok(())
    }
}
