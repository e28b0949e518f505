//! The Enrichment Refinery (spec §1.3, `DESIGN.md` §7): a worker that follows the global log and
//! runs the Brain on every transaction the twin records, appending `TransactionCategorised`
//! where the Brain's answer differs from what the twin holds.
//!
//! - **What it reads.** Profile streams only: `TransactionsImported` and `TransactionAmended`
//!   are categorised (their current version in the twin, each once per page); a person's own
//!   `TransactionCategorised` (lineage `USER`) becomes a user rule for that profile (keyed by
//!   its stream id) at once, so the next import of the same merchant follows it; an erasure
//!   notice forgets the profile's rules.
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
    Actor, Aggregate, Clock, Codec, EventMetadata, EventStore, EventStoreExt, JsonCodec, Position,
    RecordedEvent, Repository, SUBJECT_HEADER, StreamId, SystemClock,
};
use fintra_twin::connect::{CategoriseRequest, Categoriser};
use fintra_twin::fos::UnifiedTransaction;
use fintra_twin::{IMPORT_EVENTS_MAX, Profile, ProfileCommand, ProfileEvent, ProfileRejection};
use tracing::{Instrument, debug, info_span};

use crate::brain::{Brain, saturating_i64};
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
    /// Corrections up to here are learned (behind `checkpoint` after `with_checkpoint`).
    learned_through: Position,
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

/// One page's work for one stream: the transactions to categorise, in order, once each.
#[derive(Default)]
struct StreamWork {
    ids: Vec<String>,
    seen: std::collections::HashSet<String>,
    metadata: Option<EventMetadata>,
}

impl<S: EventStore, C: Codec<ProfileEvent>> EnrichmentRefinery<S, C> {
    /// A refinery starting at the start of the log.
    ///
    /// Its commands are decided on the profile it loaded and appended at that version
    /// ([`Repository::execute_in_place`]): they write no snapshot and fill no aggregate cache
    /// even when `repository` is configured with them; the profile's other writers snapshot at
    /// their next boundary.
    pub fn new(repository: Repository<Profile, S, C>, brain: Brain) -> Self {
        Self {
            repository,
            brain,
            taxonomy: Taxonomy::builtin(),
            checkpoint: Position::START,
            learned_through: Position::START,
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

    /// Starts after `checkpoint` (a position saved from [`RefineReport::checkpoint`]). The
    /// first catch-up still reads the log before it, learning people's corrections only, so
    /// the user rules are whole.
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

    /// Refines everything the log holds after the checkpoint, then returns: every event
    /// committed before the call, waiting for those an older open transaction holds back.
    ///
    /// # Errors
    /// [`RefineError`]; the checkpoint stays after the last page fully refined.
    pub async fn catch_up(&mut self) -> Result<RefineReport, RefineError> {
        let mut report = RefineReport { checkpoint: self.checkpoint, ..RefineReport::default() };
        let span = info_span!("fintra.brain.refinery", from = self.checkpoint.0);
        async {
            // Started from a saved checkpoint: relearn the corrections before it first.
            while self.learned_through < self.checkpoint {
                let from = self.learned_through;
                let page = self.repository.store().read_all(from, self.page_size).await?;
                let Some(last) = page.last().map(|e| e.position) else { break };
                let upto: Vec<RecordedEvent> =
                    page.into_iter().filter(|e| e.position <= self.checkpoint).collect();
                self.refine_page(&upto, &mut report, true).await?;
                self.learned_through = last.min(self.checkpoint);
            }
            // Everything committed before the call, including events the gap-safe read holds
            // back while an older transaction is open somewhere on the server.
            let target = self.repository.store().committed_head().await?;
            loop {
                let page =
                    self.repository.store().read_all(self.checkpoint, self.page_size).await?;
                let Some(last) = page.last().map(|e| e.position) else {
                    if self.repository.store().holds_back(self.checkpoint, target).await? {
                        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
                        continue;
                    }
                    break;
                };
                self.refine_page(&page, &mut report, false).await?;
                report.read =
                    report.read.saturating_add(u64::try_from(page.len()).unwrap_or(u64::MAX));
                self.checkpoint = last;
                self.learned_through = last;
                report.checkpoint = last;
                // A gap-safe read returns a position only once nothing before it can still
                // commit: past the target, nothing committed before the call is left, and the
                // empty read and hold-back probe that would show it are two round trips saved.
                if target.is_some_and(|target| last >= target) {
                    break;
                }
            }
            Ok(report)
        }
        .instrument(span)
        .await
    }

    /// Refines one page: learns people's corrections and forgets erased profiles; unless
    /// `learn_only`, then categorises the current version of every transaction the page
    /// imported or amended (each once, however often the page names it).
    async fn refine_page(
        &self,
        page: &[RecordedEvent],
        report: &mut RefineReport,
        learn_only: bool,
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
            let ids: Vec<String> = match self.repository.decode(event)? {
                ProfileEvent::TransactionsImported { transactions, .. } => {
                    transactions.into_iter().map(|t| t.transaction_id).collect()
                }
                ProfileEvent::TransactionAmended { transaction, .. } => {
                    vec![transaction.transaction_id]
                }
                ProfileEvent::TransactionCategorised { transaction, .. } => {
                    if self.learn(event.stream_id.as_str(), &transaction) {
                        report.rules_learned += 1;
                    }
                    continue;
                }
                _ => continue,
            };
            if learn_only {
                continue;
            }
            let entry = work.entry(event.stream_id.clone()).or_default();
            for id in ids {
                if entry.seen.insert(id.clone()) {
                    entry.ids.push(id);
                }
            }
            entry.metadata.get_or_insert_with(|| refinery_metadata(event));
        }
        for (stream, work) in work {
            self.categorise_stream(&stream, work, report).await?;
        }
        Ok(())
    }

    /// Categorises the current version of `work`'s transactions in `stream` (one command per
    /// [`IMPORT_EVENTS_MAX`]); the twin records only what changes.
    async fn categorise_stream(
        &self,
        stream: &StreamId,
        work: StreamWork,
        report: &mut RefineReport,
    ) -> Result<(), RefineError> {
        // Loaded once: the commands are decided on this state and appended at its version
        // (a concurrent writer's events are caught up and the command decided again).
        let mut loaded = self.repository.load(stream).await?;
        let now = self.clock.now();
        let mut changes = Vec::new();
        for id in work.ids {
            let Some(t) = loaded.state.transaction(&id) else { continue };
            report.transactions += 1;
            let users = t.transaction.enrichment.as_ref().is_some_and(|e| e.lineage.is_user());
            if t.corrected.is_some() || users {
                continue;
            }
            let request =
                CategoriseRequest::for_transaction(&t.transaction, Some(stream.as_str()), now);
            changes.push((id, self.brain.categorise(&request)));
        }
        let metadata = work.metadata.unwrap_or_default();
        for chunk in changes.chunks(IMPORT_EVENTS_MAX) {
            let command = ProfileCommand::Categorise { changes: chunk.to_vec() };
            match self.repository.execute_in_place(stream, &mut loaded, &command, &metadata).await {
                Ok(events) => {
                    let appended = u64::try_from(events.len()).unwrap_or(u64::MAX);
                    report.categorised = report.categorised.saturating_add(appended);
                    debug!(stream = %stream, appended, "categorised");
                }
                Err(error) => {
                    return Err(match error.into_rejection() {
                        Ok(reason) => RefineError::Rejected { stream: stream.clone(), reason },
                        Err(store) => store.into(),
                    });
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
        let amount_minor = saturating_i64(categorised.amount_minor);
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
