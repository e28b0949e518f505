//! Changes to transactions imported before — a provider's new version of one (`modified`) or its
//! withdrawal (`removed`), as Plaid's `/transactions/sync` reports them — staged for review like
//! an import, then recorded as amendments and compensating corrections.

use serde::{Deserialize, Serialize};

use super::StagedImport;
use crate::fos::{RemovedTransaction, Source, UnifiedAccount, UnifiedTransaction};
use crate::{Profile, ProfileCommand, ProfileRejection};
use fintra_core::{Codec, EventMetadata, EventStore, ExecuteError, Repository, StreamId};

/// What approving staged changes would do.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChangesReport {
    /// Modified transactions in the input.
    pub modified: usize,
    /// Known transactions whose content changed: each becomes an amendment.
    pub amended: usize,
    /// Known transactions sent again unchanged.
    pub unchanged: usize,
    /// Modified transactions the twin never saw: imported as new.
    pub modified_unknown: usize,
    /// Modified transactions the twin holds as corrected (withdrawn or corrected by hand): left
    /// as they are, since a correction is final.
    #[serde(default)]
    pub modified_corrected: usize,
    /// Removed transactions in the input.
    pub removed: usize,
    /// Known transactions withdrawn: each becomes a compensating correction.
    pub withdrawn: usize,
    /// Removed transactions the twin never saw, or already corrected: nothing to do.
    pub removed_unknown: usize,
}

/// Amendments and withdrawals waiting for approval.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct StagedChanges {
    /// Where the changes came from (named in each correction's reason).
    pub source: Source,
    /// New versions of known transactions.
    pub amended: Vec<UnifiedTransaction>,
    /// Ids of known transactions to withdraw.
    pub withdrawn: Vec<String>,
    /// The review.
    pub report: ChangesReport,
}

/// A sync page staged: new transactions as an import, changes to known ones apart.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct StagedSync {
    /// New accounts and transactions (including modified ones the twin never saw).
    pub import: StagedImport,
    /// Amendments and withdrawals of transactions the twin holds.
    pub changes: StagedChanges,
}

/// Stages one page of changes from `source`: `added` transactions (and `accounts`) as an
/// import, `modified` ones as amendments of what the twin holds, `removed` ones as
/// withdrawals.
pub fn stage_sync(
    profile: &Profile,
    import_id: uuid::Uuid,
    source: Source,
    accounts: Vec<UnifiedAccount>,
    added: Vec<UnifiedTransaction>,
    modified: Vec<UnifiedTransaction>,
    removed: Vec<RemovedTransaction>,
) -> StagedSync {
    let mut report = ChangesReport {
        modified: modified.len(),
        removed: removed.len(),
        ..ChangesReport::default()
    };
    let mut new = added;
    let mut amended = Vec::new();
    for t in modified {
        match profile.transaction(&t.transaction_id) {
            Some(known) if known.corrected.is_some() => report.modified_corrected += 1,
            Some(known) if known.transaction.same_provider_facts(&t) => report.unchanged += 1,
            Some(_) => amended.push(t),
            None => {
                report.modified_unknown += 1;
                new.push(t);
            }
        }
    }
    report.amended = amended.len();
    let withdrawn: Vec<String> = removed
        .into_iter()
        .filter(|r| profile.transaction(&r.transaction_id).is_some_and(|t| t.corrected.is_none()))
        .map(|r| r.transaction_id)
        .collect();
    report.withdrawn = withdrawn.len();
    report.removed_unknown = report.removed - report.withdrawn;
    let import = super::stage(profile, import_id, source, accounts, new);
    StagedSync { import, changes: StagedChanges { source, amended, withdrawn, report } }
}

impl StagedChanges {
    /// Records each amendment and withdrawal as its own command (idempotent: approving twice
    /// records nothing the second time). Returns how many commands recorded something.
    ///
    /// # Errors
    /// The twin's rejection or a store error; what was recorded before stays.
    pub async fn approve<S: EventStore, C: Codec<crate::ProfileEvent>>(
        self,
        repository: &Repository<Profile, S, C>,
        stream: &StreamId,
        metadata: &EventMetadata,
    ) -> Result<usize, ExecuteError<ProfileRejection>> {
        let provider = match self.source {
            Source::Plaid => "Plaid",
            Source::Yapily => "Yapily",
            Source::Csv => "a CSV import",
            Source::Manual => "hand",
        };
        let mut recorded = 0;
        for transaction in self.amended {
            let reason = format!("modified by {provider}");
            let command =
                ProfileCommand::AmendTransaction { transaction: Box::new(transaction), reason };
            if !repository.execute(stream, &command, metadata).await?.events.is_empty() {
                recorded += 1;
            }
        }
        for transaction_id in self.withdrawn {
            let reason = format!("removed by {provider}");
            let command = ProfileCommand::CorrectTransaction { transaction_id, reason };
            match repository.execute(stream, &command, metadata).await {
                Ok(_) => recorded += 1,
                // Withdrawn by an earlier approval of the same changes.
                Err(ExecuteError::Rejected(ProfileRejection::AlreadyCorrected(_))) => {}
                Err(other) => return Err(other),
            }
        }
        Ok(recorded)
    }
}

impl StagedSync {
    /// Approves the import, then the changes.
    ///
    /// # Errors
    /// As [`StagedImport::approve`] and [`StagedChanges::approve`].
    pub async fn approve<S: EventStore, C: Codec<crate::ProfileEvent>>(
        self,
        repository: &Repository<Profile, S, C>,
        stream: &StreamId,
        metadata: &EventMetadata,
    ) -> Result<(super::ImportReceipt, usize), ExecuteError<ProfileRejection>> {
        let receipt = self.import.approve(repository, stream, metadata, |_, _| {}).await?;
        let changed = self.changes.approve(repository, stream, metadata).await?;
        Ok((receipt, changed))
    }
}
