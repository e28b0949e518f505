//! Aggregates as deciders: pure `decide` and `apply`, with time and ids passed in.

use chrono::{DateTime, Utc};
use serde::Serialize;
use serde::de::DeserializeOwned;
use uuid::Uuid;

use crate::{Clock, IdGenerator};

/// A domain event type: names itself and its schema version for the envelope.
pub trait DomainEvent: Send + Sync + 'static {
    /// The event's type name as stored, e.g. `Deposited`.
    fn event_type(&self) -> &'static str;

    /// The current schema version of this event's payload (1 until the shape changes).
    fn schema_version(&self) -> u32 {
        1
    }

    /// Domain time, when the event carries its own (e.g. a bank booking date); otherwise the
    /// repository stamps the command's time.
    fn occurred_at(&self) -> Option<DateTime<Utc>> {
        None
    }
}

/// What `decide` may know besides state and command: the time and fresh ids, both injected.
#[derive(Clone, Copy)]
pub struct DecideContext<'a> {
    now: DateTime<Utc>,
    ids: &'a dyn IdGenerator,
}

impl<'a> DecideContext<'a> {
    /// A context at `now` drawing ids from `ids`.
    pub fn new(now: DateTime<Utc>, ids: &'a dyn IdGenerator) -> Self {
        Self { now, ids }
    }

    /// A context reading the time from `clock` once.
    pub fn from_clock(clock: &dyn Clock, ids: &'a dyn IdGenerator) -> Self {
        Self::new(clock.now(), ids)
    }

    /// The command's time.
    pub fn now(&self) -> DateTime<Utc> {
        self.now
    }

    /// A fresh id (for entities the command creates).
    pub fn new_id(&self) -> Uuid {
        self.ids.next_id()
    }
}

impl std::fmt::Debug for DecideContext<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DecideContext").field("now", &self.now).finish_non_exhaustive()
    }
}

/// An aggregate's state and its rules, written as a decider.
///
/// `decide` turns a command into events or a rejection and never mutates; `apply` folds one event
/// into the state and never fails — an event is a fact that already happened. Neither does I/O or
/// reads the clock: that is what makes replay, time travel and forks exact.
///
/// The state is `Serialize + DeserializeOwned` so the repository can snapshot it.
pub trait Aggregate:
    Default + Clone + Send + Sync + Serialize + DeserializeOwned + 'static
{
    /// The stream category, e.g. `account`: streams are named `<CATEGORY>-<id>`.
    const CATEGORY: &'static str;

    /// Schema version of the serialized state; bump it when the state's shape changes so old
    /// snapshots are ignored.
    const SNAPSHOT_VERSION: u32 = 1;

    /// What callers ask for.
    type Command: Send + Sync;
    /// What happened.
    type Event: DomainEvent + Clone;
    /// Why a command was refused: one variant per rule.
    type Error: std::error::Error + Send + Sync + 'static;

    /// Decides which events `command` produces against the current state.
    ///
    /// # Errors
    /// The aggregate's rejection when a rule forbids the command.
    fn decide(
        &self,
        command: &Self::Command,
        ctx: &DecideContext<'_>,
    ) -> Result<Vec<Self::Event>, Self::Error>;

    /// Folds one event into the state. Called on events `decide` just produced, which fold by
    /// construction.
    fn apply(&mut self, event: &Self::Event);

    /// Folds one event read back from a store, reporting an event this state cannot take — a
    /// log this code did not write (a transfer between accounts that do not exist, a total
    /// that would overflow) — instead of skipping it. The repository folds stored events
    /// through this method and turns a failure into `Corrupted` naming the stream and version.
    /// The default applies and never fails; override it where an event can be impossible.
    ///
    /// # Errors
    /// [`Error::Corrupted`](crate::Error::Corrupted) describing why the event cannot be folded;
    /// the state is left as it was.
    fn try_apply(&mut self, event: &Self::Event) -> crate::Result<()> {
        self.apply(event);
        Ok(())
    }
}
