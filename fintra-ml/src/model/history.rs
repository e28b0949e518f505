//! Training data from the log itself: the transactions the twins recorded and the categories they
//! ended with — a person's corrections above all — read from any sequence of events in log order,
//! such as the cold tier's Parquet archives ([`from_archive`], feature `archive`).
//!
//! Per profile and transaction id it keeps what the twin keeps, nearly: the first import's
//! description and amount (a later amendment replaces them), and the latest category (an
//! import's enrichment, an amendment's unless a person had categorised it, a categorisation's).
//! Unlike the twin it does not check that the account was linked first: a label is a label. Categories are the
//! twin's display form (`"Eating Out > Coffee"`); those outside the taxonomy (a person's own
//! words) are left out and counted. Sealed payloads (a guarded store's ciphertext) and erased
//! events are counted and skipped: train on the guarded store's plaintext view, or accept that
//! erased people's data is gone — as it must be.
//!
//! ```
//! use fintra_ml::model::history::{HistoryLabels, Labels};
//! use fintra_ml::model::TrainOptions;
//! let mut history = HistoryLabels::new(Labels::All);
//! # let events: Vec<fintra_core::RecordedEvent> = Vec::new();
//! for event in &events {
//!     history.add(event); // in log order
//! }
//! let report = history.report();
//! assert_eq!(report.transactions, 0);
//! let model = history.train(TrainOptions::default());
//! assert_eq!(model.card.examples, 0);
//! ```

use std::collections::HashMap;

use fintra_core::{ContentType, RecordedEvent};
use fintra_twin::ProfileEvent;
use fintra_twin::fos::UnifiedTransaction;

use super::{LinearModel, TrainOptions, train_on_lines};
use crate::taxonomy::{Taxonomy, from_display};

/// Which categories become labels.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Labels {
    /// Only categories a person chose (lineage source `USER`): few, but the truest labels.
    Corrections,
    /// Every transaction's final category: the Brain's own answers as well as people's
    /// corrections — plenty, but a model trained on them also learns the Brain's mistakes.
    All,
}

/// What [`HistoryLabels`] read.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct HistoryReport {
    /// Events handed to [`HistoryLabels::add`].
    pub events: u64,
    /// Distinct transactions seen (per profile and transaction id).
    pub transactions: u64,
    /// Transactions whose category a person set.
    pub corrected: u64,
    /// Profile events left out as sealed (not JSON) or erased.
    pub sealed: u64,
    /// Profile events whose payload did not decode as a twin event.
    pub undecodable: u64,
    /// Labels left out because the category is not one of the taxonomy's.
    pub outside_taxonomy: u64,
    /// Training examples under the chosen [`Labels`].
    pub examples: u64,
}

#[derive(Clone, Debug)]
struct Line {
    description: String,
    amount_minor: i64,
    category: Option<String>,
    by_person: bool,
}

/// Labelled statement lines recovered from profile events, in log order.
#[derive(Clone, Debug)]
pub struct HistoryLabels {
    labels: Labels,
    taxonomy: Taxonomy,
    lines: HashMap<(String, String), Line>,
    events: u64,
    sealed: u64,
    undecodable: u64,
}

fn amount(t: &UnifiedTransaction) -> i64 {
    i64::try_from(t.amount_minor).unwrap_or(if t.amount_minor < 0 { i64::MIN } else { i64::MAX })
}

fn category_of(t: &UnifiedTransaction) -> (Option<String>, bool) {
    t.enrichment.as_ref().map_or((None, false), |e| (Some(e.category.clone()), e.lineage.is_user()))
}

impl HistoryLabels {
    /// Nothing read yet.
    pub fn new(labels: Labels) -> Self {
        Self {
            labels,
            taxonomy: Taxonomy::builtin(),
            lines: HashMap::new(),
            events: 0,
            sealed: 0,
            undecodable: 0,
        }
    }

    /// Reads one event (hand them over in log order). Events outside profile streams are
    /// ignored; nothing here fails.
    pub fn add(&mut self, event: &RecordedEvent) {
        self.events += 1;
        if event.stream_id.category() != "profile" {
            return;
        }
        if event.is_shredded() || event.content_type.as_str() != ContentType::JSON {
            self.sealed += 1;
            return;
        }
        let Ok(decoded) = serde_json::from_slice::<ProfileEvent>(&event.payload) else {
            self.undecodable += 1;
            return;
        };
        let stream = event.stream_id.as_str();
        let key = |t: &UnifiedTransaction| (stream.to_owned(), t.transaction_id.clone());
        match decoded {
            ProfileEvent::TransactionsImported { transactions, .. } => {
                for t in &transactions {
                    let (category, by_person) = category_of(t);
                    self.lines.entry(key(t)).or_insert_with(|| Line {
                        description: t.description.clone(),
                        amount_minor: amount(t),
                        category,
                        by_person,
                    });
                }
            }
            ProfileEvent::TransactionAmended { transaction, .. } => {
                if let Some(line) = self.lines.get_mut(&key(&transaction)) {
                    line.description.clone_from(&transaction.description);
                    line.amount_minor = amount(&transaction);
                    if !line.by_person {
                        (line.category, line.by_person) = category_of(&transaction);
                    }
                }
            }
            ProfileEvent::TransactionCategorised { transaction, .. } => {
                if let Some(line) = self.lines.get_mut(&key(&transaction)) {
                    (line.category, line.by_person) = category_of(&transaction);
                }
            }
            _ => {}
        }
    }

    /// The training examples under the chosen [`Labels`]: (description, amount, taxonomy id),
    /// sorted for a reproducible model.
    pub fn examples(&self) -> Vec<(&str, i64, String)> {
        let mut out: Vec<(&str, i64, String)> = self
            .lines
            .values()
            .filter(|line| self.labels == Labels::All || line.by_person)
            .filter_map(|line| {
                let id = from_display(&self.taxonomy, line.category.as_deref()?)?;
                Some((line.description.as_str(), line.amount_minor, id))
            })
            .collect();
        out.sort();
        out
    }

    /// What was read, and how many examples it gives.
    pub fn report(&self) -> HistoryReport {
        let wanted = self.lines.values().filter(|l| self.labels == Labels::All || l.by_person);
        let (mut labelled, mut outside) = (0u64, 0u64);
        for line in wanted {
            match line.category.as_deref().map(|c| from_display(&self.taxonomy, c)) {
                Some(Some(_)) => labelled += 1,
                Some(None) => outside += 1,
                None => {}
            }
        }
        HistoryReport {
            events: self.events,
            transactions: u64::try_from(self.lines.len()).unwrap_or(u64::MAX),
            corrected: u64::try_from(self.lines.values().filter(|l| l.by_person).count())
                .unwrap_or(u64::MAX),
            sealed: self.sealed,
            undecodable: self.undecodable,
            outside_taxonomy: outside,
            examples: labelled,
        }
    }

    /// Trains the model on [`HistoryLabels::examples`] with the serving featuriser.
    pub fn train(&self, options: TrainOptions) -> LinearModel {
        let examples = self.examples();
        train_on_lines(examples.iter().map(|(d, a, c)| (*d, *a, c.as_str())), options)
    }
}

/// Reads every archive of `archive` in log order (by first position) into [`HistoryLabels`]:
/// the slow brain's training set from the cold tier. Memory: one file's compressed bytes and a
/// batch of rows at a time, plus one line per transaction.
///
/// # Errors
/// The archive's errors (unreadable object store, an archive that does not match its manifest).
#[cfg(feature = "archive")]
pub async fn from_archive(
    archive: &fintra_store_parquet::ParquetArchive,
    labels: Labels,
) -> Result<HistoryLabels, fintra_store_parquet::ArchiveError> {
    let mut manifests = archive.list().await?;
    manifests.sort_by_key(|m| m.first_position);
    let mut history = HistoryLabels::new(labels);
    let filter = fintra_store_parquet::ReadFilter::default();
    for manifest in &manifests {
        archive
            .scan(&manifest.archive_id, &filter, |batch| {
                for event in &batch {
                    history.add(event);
                }
            })
            .await?;
    }
    Ok(history)
}
