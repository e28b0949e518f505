//! The Enrichment Refinery (spec §1.3, `DESIGN.md` §7): a worker that follows the global log and
//! runs the Brain on every transaction the twin records, appending `TransactionCategorised`
//! where the Brain's answer differs from what the twin holds.
//!
//! - **What it reads.** Profile streams only: `TransactionsImported` and `TransactionAmended`
//!   are categorised; a person's own `TransactionCategorised` (lineage `USER`) becomes a user
//!   rule for that profile at once, so the next import of the same merchant follows it; an
//!   erasure notice forgets the profile's rules.
//! - **Idempotent.** Each page's categorisations go through the profile's own decider
//!   (`ProfileCommand::Categorise`), which records nothing for a transaction already so
//!   categorised, one corrected away, or one a person categorised. Replaying the log from any
//!   checkpoint appends nothing twice, so the checkpoint may live anywhere (or nowhere: a
//!   restart from the start costs CPU, never a duplicate).
//! - **Cancel-safe.** Dropping [`EnrichmentRefinery::catch_up`] at any await leaves every
//!   append whole (each is one command) and the checkpoint at the last page fully handled.

use std::collections::BTreeMap;

use std::sync::Arc;

use fintra_core::{
    Actor, Aggregate, Clock, Codec, EventMetadata, EventStore, JsonCodec, Position, RecordedEvent,
    Repository, SUBJECT_HEADER, StreamId, SystemClock,
};
use fintra_twin::connect::{CategoriseRequest, Categoriser};
use fintra_twin::fos::{Enrichment, UnifiedTransaction};
use fintra_twin::{IMPORT_EVENTS_MAX, Profile, ProfileCommand, ProfileEvent, ProfileRejection};
use tracing::{Instrument, debug, info_span};

use crate::brain::Brain;
use crate::cascade::Transaction;
use crate::taxonomy::{self, Taxonomy};

/// Why the refinery stopped.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum RefineError {
    /// Reading the log, decoding an event or appending failed; the checkpoint stays before the
    /// page.
    #[error(transparent)]
    Store(#[from] fintra_core::Error),
    /// The twin refused a categorisation (a defect: the refinery only names transactions the
    /// stream recorded).
    #[error("stream {stream}: the twin refused a categorisation")]
    Rejected {
        /// The profile stream.
        stream: StreamId,
        /// The twin's reason.
        #[source]
        reason: ProfileRejection,
    },
}

/// What a catch-up did.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct RefineReport {
    /// Events read from the log.
    pub read: u64,
    /// Transactions the Brain looked at.
    pub transactions: u64,
    /// `TransactionCategorised` events appended.
    pub categorised: u64,
    /// User rules learned from people's corrections.
    pub rules_learned: u64,
    /// The checkpoint at the end.
    pub checkpoint: Position,
}

/// The refinery over the profiles in `repository`'s store.
pub struct EnrichmentRefinery<S, C = JsonCodec<ProfileEvent>> {
    repository: Repository<Profile, S, C>,
    brain: Brain,
    taxonomy: Taxonomy,
    checkpoint: Position,
    page_size: usize,
    clock: Arc<dyn Clock>,
}

impl<S, C> std::fmt::Debug for EnrichmentRefinery<S, C> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EnrichmentRefinery")
            .field("checkpoint", &self.checkpoint)
            .field("page_size", &self.page_size)
            .finish_non_exhaustive()
    }
}

/// One page's work for one stream.
#[derive(Default)]
struct StreamWork {
    changes: Vec<(String, Enrichment)>,
    metadata: Option<EventMetadata>,
}

impl<S: EventStore, C: Codec<ProfileEvent>> EnrichmentRefinery<S, C> {
    /// A refinery starting at the start of the log.
    pub fn new(repository: Repository<Profile, S, C>, brain: Brain) -> Self {
        Self {
            repository,
            brain,
            taxonomy: Taxonomy::builtin(),
            checkpoint: Position::START,
            page_size: 500,
            clock: Arc::new(SystemClock),
        }
    }

    /// Stamps lineage with `clock`'s time (the system clock by default).
    #[must_use]
    pub fn with_clock(mut self, clock: Arc<dyn Clock>) -> Self {
        self.clock = clock;
        self
    }

    /// Starts after `checkpoint` (a position saved from [`RefineReport::checkpoint`]).
    #[must_use]
    pub fn with_checkpoint(mut self, checkpoint: Position) -> Self {
        self.checkpoint = checkpoint;
        self
    }

    /// Events read per page (1–1,000; default 500).
    #[must_use]
    pub fn with_page_size(mut self, events: usize) -> Self {
        self.page_size = events.clamp(1, 1_000);
        self
    }

    /// The position up to which every event has been refined.
    pub fn checkpoint(&self) -> Position {
        self.checkpoint
    }

    /// The Brain it runs.
    pub fn brain(&self) -> &Brain {
        &self.brain
    }

    /// Refines everything the log holds after the checkpoint, then returns.
    ///
    /// # Errors
    /// [`RefineError`]; the checkpoint stays after the last page fully refined.
    pub async fn catch_up(&mut self) -> Result<RefineReport, RefineError> {
        let mut report = RefineReport { checkpoint: self.checkpoint, ..RefineReport::default() };
        let span = info_span!("fintra.brain.refinery", from = self.checkpoint.0);
        async {
            loop {
                let page =
                    self.repository.store().read_all(self.checkpoint, self.page_size).await?;
                let Some(last) = page.last().map(|e| e.position) else { break };
                self.refine_page(&page, &mut report).await?;
                report.read =
                    report.read.saturating_add(u64::try_from(page.len()).unwrap_or(u64::MAX));
                self.checkpoint = last;
                report.checkpoint = last;
            }
            Ok(report)
        }
        .instrument(span)
        .await
    }

    async fn refine_page(
        &self,
        page: &[RecordedEvent],
        report: &mut RefineReport,
    ) -> Result<(), RefineError> {
        let mut work: BTreeMap<StreamId, StreamWork> = BTreeMap::new();
        for event in page {
            if let Some(subject) = event.shredded_subject() {
                self.brain.cascade().forget_profile(&subject);
                continue;
            }
            if event.is_shredded() || event.stream_id.category() != Profile::CATEGORY {
                continue;
            }
            let profile = rule_key(event);
            let transactions: Vec<UnifiedTransaction> = match self.repository.decode(event)? {
                ProfileEvent::TransactionsImported { transactions, .. } => transactions,
                ProfileEvent::TransactionAmended { transaction, .. } => vec![*transaction],
                ProfileEvent::TransactionCategorised { transaction, .. } => {
                    if self.learn(&profile, &transaction) {
                        report.rules_learned += 1;
                    }
                    continue;
                }
                _ => continue,
            };
            let now = self.clock.now();
            let entry = work.entry(event.stream_id.clone()).or_default();
            for t in &transactions {
                report.transactions += 1;
                if t.enrichment.as_ref().is_some_and(|e| e.lineage.is_user()) {
                    continue;
                }
                let request = CategoriseRequest::for_transaction(t, Some(&profile), now);
                entry.changes.push((t.transaction_id.clone(), self.brain.categorise(&request)));
            }
            entry.metadata.get_or_insert_with(|| refinery_metadata(event));
        }
        for (stream, work) in work {
            let metadata = work.metadata.unwrap_or_default();
            for chunk in work.changes.chunks(IMPORT_EVENTS_MAX) {
                let command = ProfileCommand::Categorise { changes: chunk.to_vec() };
                match self.repository.execute(&stream, &command, &metadata).await {
                    Ok(executed) => {
                        let appended = u64::try_from(executed.events.len()).unwrap_or(u64::MAX);
                        report.categorised = report.categorised.saturating_add(appended);
                        debug!(stream = %stream, appended, "categorised");
                    }
                    Err(error) => {
                        return Err(match error.into_rejection() {
                            Ok(reason) => RefineError::Rejected { stream, reason },
                            Err(store) => store.into(),
                        });
                    }
                }
            }
        }
        Ok(())
    }

    /// A person's categorisation becomes a rule for the profile. False for an automatic one,
    /// or one the cascade cannot key.
    fn learn(&self, profile: &str, categorised: &UnifiedTransaction) -> bool {
        let Some(enrichment) = categorised.enrichment.as_ref().filter(|e| e.lineage.is_user())
        else {
            return false;
        };
        let category = taxonomy::from_display(&self.taxonomy, &enrichment.category)
            .unwrap_or_else(|| enrichment.category.clone());
        let amount_minor = i64::try_from(categorised.amount_minor)
            .unwrap_or(if categorised.amount_minor < 0 { i64::MIN } else { i64::MAX });
        let transaction = Transaction {
            description: &categorised.description,
            amount_minor,
            mcc: None,
            country: None,
            profile: Some(profile),
        };
        self.brain.cascade().learn(profile, &transaction, &category);
        true
    }
}

/// The key a profile's user rules are kept under: its data subject when the event names one
/// (so an erasure forgets them), else its stream.
fn rule_key(event: &RecordedEvent) -> String {
    event
        .metadata
        .headers
        .get(SUBJECT_HEADER)
        .cloned()
        .unwrap_or_else(|| event.stream_id.to_string())
}

/// The metadata of the refinery's events: the source event's tenant, correlation and subject
/// header, caused by it, by the system.
fn refinery_metadata(source: &RecordedEvent) -> EventMetadata {
    let mut headers = BTreeMap::new();
    if let Some(subject) = source.metadata.headers.get(SUBJECT_HEADER) {
        headers.insert(SUBJECT_HEADER.to_owned(), subject.clone());
    }
    EventMetadata {
        tenant_id: source.metadata.tenant_id.clone(),
        correlation_id: source.metadata.correlation_id.or(Some(source.event_id)),
        causation_id: Some(source.event_id),
        actor: Actor::System,
        headers,
    }
}
