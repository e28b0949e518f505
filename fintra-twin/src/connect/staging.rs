//! Staged imports: normalised data is staged, its effect reviewed, then approved into events
//! (the as-built API's stage-then-approve flow, spec §4.13).

use serde::{Deserialize, Serialize};

use crate::fos::{Source, UnifiedAccount, UnifiedTransaction};
use crate::{
    IMPORT_EVENT_TRANSACTIONS_MAX, IMPORT_EVENTS_MAX, IMPORT_TRANSACTIONS_MAX, ImportPlan, Profile,
    ProfileCommand, ProfileRejection,
};
use fintra_core::{
    Codec, EventId, EventMetadata, EventStore, ExecuteError, ReadStreamOptions, Repository,
    StreamId, StreamVersion,
};

/// What approving a staged import would do, computed against the twin at staging time.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct StageReport {
    /// Accounts in the input.
    pub accounts: usize,
    /// Accounts not linked yet.
    pub new_accounts: usize,
    /// Transactions in the input.
    pub transactions: usize,
    /// Transactions that would be recorded.
    pub new_transactions: usize,
    /// Repeated within the input (e.g. a provider's duplicate delivery).
    pub duplicates_in_input: usize,
    /// Already in the twin.
    pub already_imported: usize,
    /// Posted transactions replacing a pending one.
    pub pending_replaced: usize,
    /// Pending transactions dropped because their posted version is known.
    pub pending_already_posted: usize,
}

impl StageReport {
    fn from_plan(plan: &ImportPlan, accounts: usize, transactions: usize) -> Self {
        Self {
            accounts,
            new_accounts: plan.new_accounts.len(),
            transactions,
            new_transactions: plan.new_transactions.len(),
            duplicates_in_input: plan.duplicates_in_input,
            already_imported: plan.already_imported,
            pending_replaced: plan.pending_replaced,
            pending_already_posted: plan.pending_already_posted,
        }
    }
}

/// Normalised data waiting for approval.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct StagedImport {
    /// The import's id (recorded on its events).
    pub import_id: uuid::Uuid,
    /// Where the data came from.
    pub source: Source,
    /// Accounts.
    pub accounts: Vec<UnifiedAccount>,
    /// Transactions.
    pub transactions: Vec<UnifiedTransaction>,
    /// The review: what approving would change.
    pub report: StageReport,
}

/// What an approved import recorded.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ImportReceipt {
    /// The id of the first event the import appended (`None` when nothing was new).
    pub source_event_id: Option<EventId>,
    /// The stream version of the first appended event.
    pub first_version: Option<StreamVersion>,
    /// The stream version after the import.
    pub last_version: Option<StreamVersion>,
    /// How many commands the import was split into (one per `IMPORT_EVENTS_MAX` events).
    pub commands: usize,
    /// The review, recomputed at approval.
    pub report: StageReport,
}

/// Stages normalised data against `profile` (the twin's current state) for review.
pub fn stage(
    profile: &Profile,
    import_id: uuid::Uuid,
    source: Source,
    accounts: Vec<UnifiedAccount>,
    transactions: Vec<UnifiedTransaction>,
) -> StagedImport {
    let plan = profile.plan_import(&accounts, &transactions);
    let report = StageReport::from_plan(&plan, accounts.len(), transactions.len());
    StagedImport { import_id, source, accounts, transactions, report }
}

/// Splits date-sorted transactions into commands of whole booking days, each within one append:
/// at most `day_budget` days, `event_budget` events (a day's transactions take one event per
/// [`IMPORT_EVENT_TRANSACTIONS_MAX`]) and [`IMPORT_TRANSACTIONS_MAX`] transactions.
fn chunk_by_days(
    sorted: Vec<&UnifiedTransaction>,
    event_budget: usize,
    day_budget: usize,
) -> Vec<Vec<UnifiedTransaction>> {
    let mut chunks: Vec<Vec<UnifiedTransaction>> = Vec::new();
    let (mut days, mut events, mut on_day) = (0usize, 0usize, 0usize);
    let mut last_day = None;
    for t in sorted {
        let new_day = last_day != Some(t.date);
        let new_event = new_day || on_day % IMPORT_EVENT_TRANSACTIONS_MAX == 0;
        let full = chunks.last().is_none_or(|c| c.len() == IMPORT_TRANSACTIONS_MAX)
            || (new_day && days == day_budget)
            || (new_event && events == event_budget);
        if full {
            chunks.push(Vec::new());
            (days, events, on_day) = (0, 0, 0);
            last_day = None;
        }
        if last_day != Some(t.date) {
            days += 1;
            on_day = 0;
            last_day = Some(t.date);
        }
        if on_day % IMPORT_EVENT_TRANSACTIONS_MAX == 0 {
            events += 1;
        }
        on_day += 1;
        if let Some(chunk) = chunks.last_mut() {
            chunk.push(t.clone());
        }
    }
    chunks
}

impl StagedImport {
    /// Replaces Connect's first-pass categories with `categoriser`'s (the Brain's cascade) for
    /// `profile`, before review; returns how many changed. See [`super::categorise_with`].
    pub fn categorise(
        &mut self,
        categoriser: &dyn super::Categoriser,
        profile: Option<&str>,
        now: chrono::DateTime<chrono::Utc>,
    ) -> usize {
        super::categorise_with(&mut self.transactions, categoriser, profile, now)
    }

    /// Approves the import into `stream`: new accounts and transactions become events
    /// (one `TransactionsImported` per booking day), split into several commands when larger
    /// than one append holds. Approving twice records nothing the second time.
    /// `progress` is called after each command with (transactions done, transactions total).
    ///
    /// # Errors
    /// The twin's rejection or a store error. Commands already appended stay (the next
    /// approval skips them as duplicates).
    pub async fn approve<S: EventStore, C: Codec<crate::ProfileEvent>>(
        self,
        repository: &Repository<Profile, S, C>,
        stream: &StreamId,
        metadata: &EventMetadata,
        progress: impl FnMut(usize, usize),
    ) -> Result<ImportReceipt, ExecuteError<ProfileRejection>> {
        self.approve_in_steps(repository, stream, metadata, IMPORT_EVENTS_MAX, progress).await
    }

    /// As [`StagedImport::approve`], with at most `days_per_command` booking days per command
    /// (smaller steps report progress more often; each step is one append).
    ///
    /// # Errors
    /// As [`StagedImport::approve`].
    pub async fn approve_in_steps<S: EventStore, C: Codec<crate::ProfileEvent>>(
        self,
        repository: &Repository<Profile, S, C>,
        stream: &StreamId,
        metadata: &EventMetadata,
        days_per_command: usize,
        mut progress: impl FnMut(usize, usize),
    ) -> Result<ImportReceipt, ExecuteError<ProfileRejection>> {
        // Loaded once and folded in place: each step costs its own events, not a reload.
        let mut loaded = repository.load(stream).await?;
        let current = &loaded.state;
        let plan = current.plan_import(&self.accounts, &self.transactions);
        let anchors =
            current.anchors(&self.accounts, &self.transactions).map_err(ExecuteError::Rejected)?;
        let report = StageReport::from_plan(&plan, self.accounts.len(), self.transactions.len());
        let mut new: Vec<&UnifiedTransaction> =
            plan.new_transactions.iter().filter_map(|i| self.transactions.get(*i)).collect();
        new.sort_by_key(|t| t.date);
        let event_budget = IMPORT_EVENTS_MAX.saturating_sub(plan.new_accounts.len()).max(1);
        let mut chunks = chunk_by_days(new, event_budget, days_per_command.max(1));
        if chunks.is_empty() && !plan.new_accounts.is_empty() {
            chunks.push(Vec::new());
        }
        let total = report.new_transactions;
        let (mut first, mut last, mut done) = (None, None, 0usize);
        let commands = chunks.len();
        for (n, transactions) in chunks.into_iter().enumerate() {
            let count = transactions.len();
            let command = ProfileCommand::Import {
                import_id: self.import_id,
                source: self.source,
                accounts: if n == 0 { self.accounts.clone() } else { Vec::new() },
                transactions,
                anchors: if n == 0 { anchors.clone() } else { Default::default() },
            };
            let events =
                repository.execute_in_place(stream, &mut loaded, &command, metadata).await?;
            if !events.is_empty() {
                // The append ends at the loaded version and holds exactly these events.
                let appended = u64::try_from(events.len()).unwrap_or(u64::MAX);
                let start = loaded.version.get().saturating_sub(appended).saturating_add(1);
                first = first.or(Some(StreamVersion(start)));
                last = Some(loaded.version);
            }
            done += count;
            progress(done, total);
        }
        let source_event_id = match first {
            Some(version) => repository
                .store()
                .read_stream(stream, ReadStreamOptions::from_version(version).limit(1))
                .await?
                .first()
                .map(|e| e.event_id),
            None => None,
        };
        Ok(ImportReceipt {
            source_event_id,
            first_version: first,
            last_version: last,
            commands,
            report,
        })
    }
}
