//! The checkpointed projection runner: catch-up from a sink's checkpoint, then live, with a
//! bounded queue between the log reader and the sink (back-pressure), poison-event policy and
//! graceful shutdown.

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use fintra_core::limits::READ_PAGE_EVENTS_MAX;
use fintra_core::{EventId, EventStore, EventStoreExt, Position, RecordedEvent};
use tokio::sync::mpsc;
use tracing::{Instrument, debug, info_span, warn};

/// Why a projection stopped or could not apply something.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ProjectionError {
    /// The projection's own code refused an event (a poison event): it names the event.
    #[error(
        "projection {projection}: event {event_id} ({event_type}) at position {position} was refused"
    )]
    Poison {
        /// The projection.
        projection: String,
        /// The event's position in the global log.
        position: Position,
        /// The event's id.
        event_id: EventId,
        /// Its type.
        event_type: String,
        /// Why the projection refused it.
        #[source]
        reason: Box<dyn std::error::Error + Send + Sync>,
    },
    /// The projection's code refused an event; the runner fills in which (see [`Poison`]).
    /// Build it with [`ProjectionError::refused`].
    ///
    /// [`Poison`]: ProjectionError::Poison
    #[error("the event cannot be projected: {0}")]
    Refused(#[source] Box<dyn std::error::Error + Send + Sync>),
    /// The event store failed.
    #[error(transparent)]
    Store(#[from] fintra_core::Error),
    /// This process no longer holds the lease of the unit (another owner took it, at a newer
    /// epoch, or it lapsed): its write was refused and rolled back. Stop, and re-acquire before
    /// running again ([`crate::lease`]).
    #[error("the lease of {unit} (epoch {epoch}) is no longer held: write refused")]
    Fenced {
        /// The unit of work.
        unit: String,
        /// The epoch this process held.
        epoch: i64,
    },
    /// The sink (database, cache) failed.
    #[error("sink {sink}: {source}")]
    Sink {
        /// Which sink.
        sink: String,
        /// The driver's error.
        #[source]
        source: Box<dyn std::error::Error + Send + Sync>,
    },
}

impl ProjectionError {
    /// The projection refuses an event: `reason` is an error of its own, or a text.
    pub fn refused(reason: impl Into<Box<dyn std::error::Error + Send + Sync>>) -> Self {
        Self::Refused(reason.into())
    }

    /// A sink failure.
    pub fn sink(sink: &str, source: impl std::error::Error + Send + Sync + 'static) -> Self {
        Self::Sink { sink: sink.to_owned(), source: Box::new(source) }
    }
}

/// Where a projection's effect and checkpoint live.
#[async_trait]
pub trait Sink: Send {
    /// The projection's versioned name (`<name>@v<version>`), used for its checkpoint.
    fn name(&self) -> String;

    /// Whether the projection wants events of this type (others only move the checkpoint).
    fn handles(&self, event_type: &str) -> bool;

    /// The position up to which the sink holds the effect of every event.
    ///
    /// # Errors
    /// Sink errors.
    async fn checkpoint(&mut self) -> Result<Position, ProjectionError>;

    /// Applies `events` (only handled ones, in log order) and records `through` as the
    /// checkpoint: in one transaction for SQL sinks, idempotently for others. `events` also
    /// holds every erasure notice ([`RecordedEvent::shredded_subject`]), whatever `handles`
    /// says: on one, the sink deletes everything it derived from that subject.
    ///
    /// # Errors
    /// [`ProjectionError::Refused`] when the projection's code refuses an event; sink errors.
    async fn apply(
        &mut self,
        events: &[RecordedEvent],
        through: Position,
    ) -> Result<(), ProjectionError>;

    /// Records a refused event as parked (with the reason) and moves the checkpoint to its
    /// position, so the runner can go on.
    ///
    /// # Errors
    /// Sink errors.
    async fn park(&mut self, event: &RecordedEvent, reason: &str) -> Result<(), ProjectionError>;
}

/// Whether `event` goes to `sink`: an erasure notice ([`fintra_core::SUBJECT_SHREDDED`]) always
/// does, so every sink deletes what it derived from the subject; an event whose subject was
/// erased never does (it has no payload; it only moves the checkpoint); others when the sink
/// handles their type.
fn delivered<K: Sink + ?Sized>(sink: &K, event: &RecordedEvent) -> bool {
    !event.is_shredded()
        && (event.event_type == fintra_core::SUBJECT_SHREDDED || sink.handles(&event.event_type))
}

/// What to do with an event the projection refuses.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum PoisonPolicy {
    /// Stop with [`ProjectionError::Poison`] naming it (the default).
    #[default]
    Stop,
    /// Park it in the sink's parked list and continue.
    Park,
}

/// Something that wakes a live runner when the log grows (PostgreSQL `NOTIFY`); without one the
/// runner polls.
#[async_trait]
pub trait Wake: Send {
    /// Waits until the log may have grown or `timeout` passes.
    async fn wait(&mut self, timeout: Duration);
}

#[async_trait]
impl Wake for fintra_store_postgres::PgLogListener {
    async fn wait(&mut self, timeout: Duration) {
        // A listener error degrades to polling: the timeout still bounds the wait.
        if fintra_store_postgres::PgLogListener::wait(self, timeout).await.is_err() {
            tokio::time::sleep(timeout).await;
        }
    }
}

/// Runner settings.
#[derive(Clone, Debug)]
pub struct RunnerOptions {
    /// Events per page read from the log (≤ `READ_PAGE_EVENTS_MAX`).
    pub page_size: usize,
    /// Pages buffered between the reader and the sink: the back-pressure bound.
    pub queue_depth: usize,
    /// How long a live runner waits for new events before reading again.
    pub poll_interval: Duration,
    /// What to do with a refused event.
    pub on_poison: PoisonPolicy,
}

impl Default for RunnerOptions {
    fn default() -> Self {
        Self {
            page_size: 1_000,
            queue_depth: 4,
            poll_interval: Duration::from_millis(500),
            on_poison: PoisonPolicy::Stop,
        }
    }
}

/// What a run did.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct RunReport {
    /// Events read from the log.
    pub read: u64,
    /// Events the sink applied.
    pub applied: u64,
    /// Events parked.
    pub parked: u64,
    /// The checkpoint at the end.
    pub checkpoint: Position,
}

/// Runs projections against one store.
#[derive(Debug)]
pub struct ProjectionRunner<S> {
    store: Arc<S>,
    options: RunnerOptions,
}

struct Page {
    events: Vec<RecordedEvent>,
}

impl<S: EventStore + 'static> ProjectionRunner<S> {
    /// A runner reading `store` with `options`.
    pub fn new(store: Arc<S>, options: RunnerOptions) -> Self {
        let page_size = options.page_size.clamp(1, READ_PAGE_EVENTS_MAX);
        let queue_depth = options.queue_depth.max(1);
        Self { store, options: RunnerOptions { page_size, queue_depth, ..options } }
    }

    /// Applies everything the log holds beyond the sink's checkpoint, then returns.
    ///
    /// "Everything" is every event committed before the call
    /// ([`EventStore::committed_head`]): on a gap-safe store, events held back by an older
    /// transaction still open (anyone's, on a shared server) are waited for, not skipped, so a
    /// catch-up that returns has applied them. A transaction left open keeps it waiting.
    ///
    /// # Errors
    /// As [`ProjectionRunner::run`].
    pub async fn catch_up<K: Sink>(&self, sink: &mut K) -> Result<RunReport, ProjectionError> {
        self.drive(sink, None, false, std::future::pending::<()>()).await
    }

    /// Catches up, then follows the log live — woken by `wake` or polling — until `shutdown`
    /// resolves; the batch in progress finishes first.
    ///
    /// # Errors
    /// [`ProjectionError::Poison`] under [`PoisonPolicy::Stop`]; store and sink errors.
    pub async fn run<K: Sink>(
        &self,
        sink: &mut K,
        wake: Option<Box<dyn Wake>>,
        shutdown: impl Future<Output = ()> + Send,
    ) -> Result<RunReport, ProjectionError> {
        self.drive(sink, wake, true, shutdown).await
    }

    async fn drive<K: Sink>(
        &self,
        sink: &mut K,
        wake: Option<Box<dyn Wake>>,
        live: bool,
        shutdown: impl Future<Output = ()> + Send,
    ) -> Result<RunReport, ProjectionError> {
        let name = sink.name();
        let span = info_span!("fintra.projection", projection = %name);
        async move {
            let start = sink.checkpoint().await?;
            let mut report = RunReport { checkpoint: start, ..RunReport::default() };
            let (tx, mut rx) =
                mpsc::channel::<Result<Page, fintra_core::Error>>(self.options.queue_depth);
            let reader = tokio::spawn(read_log(
                Arc::clone(&self.store),
                start,
                self.options.page_size,
                live,
                self.options.poll_interval,
                wake,
                tx,
            ));
            tokio::pin!(shutdown);
            let result = loop {
                let page = tokio::select! {
                    biased;
                    () = &mut shutdown => break Ok(()),
                    page = rx.recv() => page,
                };
                let Some(page) = page else { break Ok(()) }; // the reader finished (catch-up done)
                let page = match page {
                    Ok(page) => page,
                    Err(error) => break Err(ProjectionError::Store(error)),
                };
                if let Err(error) = self.apply_page(sink, &name, &page.events, &mut report).await {
                    break Err(error);
                }
            };
            reader.abort();
            debug!(read = report.read, applied = report.applied, parked = report.parked, "stopped");
            result.map(|()| report)
        }
        .instrument(span)
        .await
    }

    async fn apply_page<K: Sink>(
        &self,
        sink: &mut K,
        name: &str,
        events: &[RecordedEvent],
        report: &mut RunReport,
    ) -> Result<(), ProjectionError> {
        let Some(last) = events.last() else { return Ok(()) };
        let through = last.position;
        let handled: Vec<RecordedEvent> =
            events.iter().filter(|e| delivered(sink, e)).cloned().collect();
        match sink.apply(&handled, through).await {
            Ok(()) => {
                report.read += u64::try_from(events.len()).unwrap_or(u64::MAX);
                report.applied += u64::try_from(handled.len()).unwrap_or(u64::MAX);
                report.checkpoint = through;
                Ok(())
            }
            Err(ProjectionError::Refused(_)) => {
                // Find the refused event: apply one at a time, each with its own checkpoint,
                // from where the sink stands (a sink may have kept part of the batch).
                let done = sink.checkpoint().await?;
                for event in events.iter().filter(|e| e.position > done) {
                    let handled = delivered(sink, event);
                    let batch = if handled { std::slice::from_ref(event) } else { &[] };
                    match sink.apply(batch, event.position).await {
                        Ok(()) => {
                            report.applied += u64::from(handled);
                        }
                        Err(ProjectionError::Refused(reason)) => match self.options.on_poison {
                            PoisonPolicy::Stop => {
                                return Err(ProjectionError::Poison {
                                    projection: name.to_owned(),
                                    position: event.position,
                                    event_id: event.event_id,
                                    event_type: event.event_type.clone(),
                                    reason,
                                });
                            }
                            PoisonPolicy::Park => {
                                let reason = reason.to_string();
                                warn!(position = event.position.0, event_id = %event.event_id, %reason, "parked a refused event");
                                sink.park(event, &reason).await?;
                                report.parked += 1;
                            }
                        },
                        Err(other) => return Err(other),
                    }
                    report.read += 1;
                    report.checkpoint = event.position;
                }
                Ok(())
            }
            Err(other) => Err(other),
        }
    }
}

/// How long a catch-up waits before reading again while older transactions hold committed
/// events back.
const HELD_BACK_RETRY: Duration = Duration::from_millis(10);

async fn read_log<S: EventStore>(
    store: Arc<S>,
    mut after: Position,
    page_size: usize,
    live: bool,
    poll: Duration,
    mut wake: Option<Box<dyn Wake>>,
    tx: mpsc::Sender<Result<Page, fintra_core::Error>>,
) {
    // A catch-up applies what was committed before it began, including events a gap-safe
    // read holds back for a while.
    let target = if live {
        None
    } else {
        match store.committed_head().await {
            Ok(head) => head,
            Err(error) => {
                let _ = tx.send(Err(error)).await;
                return;
            }
        }
    };
    loop {
        match store.read_all(after, page_size).await {
            Ok(events) if events.is_empty() => {
                if !live {
                    match store.holds_back(after, target).await {
                        Ok(true) => {
                            tokio::time::sleep(HELD_BACK_RETRY.min(poll)).await;
                            continue;
                        }
                        Ok(false) => return,
                        Err(error) => {
                            let _ = tx.send(Err(error)).await;
                            return;
                        }
                    }
                }
                match wake.as_mut() {
                    Some(wake) => wake.wait(poll).await,
                    None => tokio::time::sleep(poll).await,
                }
            }
            Ok(events) => {
                if let Some(last) = events.last() {
                    after = last.position;
                }
                // Blocks while the queue is full: the sink's pace bounds the reader's.
                if tx.send(Ok(Page { events })).await.is_err() {
                    return;
                }
            }
            Err(error) => {
                let _ = tx.send(Err(error)).await;
                return;
            }
        }
    }
}
