//! Batches: many independent transfers and linked chains decided in one command, each with its
//! own result, written as a handful of events in one append.

use super::decide::{decide_transfer, too_large};
use super::fold::Overlay;
use super::*;
use crate::types::BatchEntry;
use crate::{BATCH_TRANSFERS_MAX, TRANSFERS_PER_EVENT_MAX};

/// Most events a batch's transfers may take (the rest of one append is left for the lapses the
/// same command records).
const BATCH_EVENTS_MAX: usize = fintra_core::limits::APPEND_EVENTS_MAX - EXPIRE_PER_COMMAND_MAX - 1;

/// The `what` of the [`Rejection::TooLarge`] an entry gets when the batch's events are full.
pub(crate) const BATCH_EVENTS_WHAT: &str = "events of one batch (runs of one effective instant)";

/// What [`LedgerBook::decide_batch`] decided: the events to append and one result per entry.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct BatchDecision {
    /// Lapses first, then the accepted transfers in entry order, in
    /// [`LedgerEvent::TransferredBatch`] events. Empty when nothing changes (every entry
    /// refused, or an identical retry of transfers already recorded).
    pub events: Vec<LedgerEvent>,
    /// Per entry, in order: accepted (or already recorded identically), or why not.
    pub results: Vec<Result<(), Rejection>>,
}

impl BatchDecision {
    /// The first refusal, if any.
    pub fn first_rejection(&self) -> Option<&Rejection> {
        self.results.iter().find_map(|r| r.as_ref().err())
    }
}

/// Accepted transfers gathered into events: consecutive transfers with the same effective
/// instant share an event (an event's `occurred_at` is that instant, so time travel by value
/// date stays exact), up to [`TRANSFERS_PER_EVENT_MAX`] each.
#[derive(Default)]
struct Gather {
    events: Vec<Vec<Transferred>>,
}

impl Gather {
    /// Events the transfers would add.
    fn events_needed(&self, transfers: &[Transferred]) -> usize {
        let mut last = self.events.last().map(|e| (e.len(), e.last().map(effective)));
        let mut needed = 0;
        for t in transfers {
            let fits = matches!(last, Some((n, Some(at))) if n < TRANSFERS_PER_EVENT_MAX && at == effective(t));
            last = Some(if fits {
                (last.map_or(0, |(n, _)| n) + 1, Some(effective(t)))
            } else {
                needed += 1;
                (1, Some(effective(t)))
            });
        }
        needed
    }

    fn push(&mut self, transfers: Vec<Transferred>) {
        for t in transfers {
            match self.events.last_mut() {
                Some(event)
                    if event.len() < TRANSFERS_PER_EVENT_MAX
                        && event.last().map(effective) == Some(effective(&t)) =>
                {
                    event.push(t);
                }
                _ => self.events.push(vec![t]),
            }
        }
    }
}

fn effective(t: &Transferred) -> DateTime<Utc> {
    t.transfer.effective_at
}

impl LedgerBook {
    /// Decides a batch: each entry in order against the book as the earlier accepted entries
    /// left it, with its own result — a refused transfer, or a linked chain with a refused
    /// member, changes nothing and does not stop the entries after it. An entry whose transfers
    /// are already recorded identically is accepted again without new events (a retried batch
    /// is a no-op).
    ///
    /// # Errors
    /// [`Rejection::EmptyBatch`] for no entries; [`Rejection::TooLarge`] for more than
    /// [`BATCH_TRANSFERS_MAX`] transfers in all.
    pub fn decide_batch(
        &self,
        entries: &[BatchEntry],
        now: DateTime<Utc>,
    ) -> Result<BatchDecision, Rejection> {
        if entries.is_empty() {
            return Err(Rejection::EmptyBatch);
        }
        let transfers: usize = entries.iter().map(|e| e.requests().len()).sum();
        too_large("transfers in one batch", BATCH_TRANSFERS_MAX, transfers)?;
        let now = truncate_to_micros(now);
        let mut work = Overlay::new(self);
        let lapses = self.expire_into(&mut work, now);
        let mut gather = Gather::default();
        let mut results = Vec::with_capacity(entries.len());
        for entry in entries {
            let mark = work.mark();
            let decided = decide_entry(&mut work, entry, now).and_then(|accepted| {
                let needed = gather.events.len() + gather.events_needed(&accepted);
                too_large(
                    "events of one batch (runs of one effective instant)",
                    BATCH_EVENTS_MAX,
                    needed,
                )?;
                Ok(accepted)
            });
            match decided {
                Ok(accepted) => {
                    gather.push(accepted);
                    results.push(Ok(()));
                }
                Err(rejection) => {
                    work.rollback(mark);
                    results.push(Err(rejection));
                }
            }
        }
        let mut events = Vec::new();
        if !gather.events.is_empty() {
            events = lapses;
            events.extend(gather.events.into_iter().map(LedgerEvent::TransferredBatch));
        }
        Ok(BatchDecision { events, results })
    }
}

/// One entry against the overlay: the transfers it adds (none for an identical retry).
fn decide_entry(
    work: &mut Overlay<'_>,
    entry: &BatchEntry,
    now: DateTime<Utc>,
) -> Result<Vec<Transferred>, Rejection> {
    let (requests, linked) = match entry {
        BatchEntry::Single(request) => (std::slice::from_ref(request), false),
        BatchEntry::Linked(requests) => {
            if requests.is_empty() {
                return Err(Rejection::EmptyBatch);
            }
            too_large("linked transfers", LINKED_TRANSFERS_MAX, requests.len())?;
            (requests.as_slice(), true)
        }
    };
    decide_requests(work, requests, linked, now)
}

/// Decides `requests` in order against the overlay, recording each so later ones see it: the
/// transfers they add (none for identical retries). In a linked chain a refusal names the member.
pub(super) fn decide_requests(
    work: &mut Overlay<'_>,
    requests: &[NewTransfer],
    linked: bool,
    now: DateTime<Utc>,
) -> Result<Vec<Transferred>, Rejection> {
    let mut accepted = Vec::with_capacity(requests.len());
    for (index, request) in requests.iter().enumerate() {
        let decided = decide_transfer(work, request, now).map_err(|cause| {
            if linked {
                Rejection::LinkedFailed { index, id: request.id, cause: Box::new(cause) }
            } else {
                cause
            }
        })?;
        if let Some(recorded) = decided {
            work.record(recorded.transfer.clone());
            accepted.push(recorded);
        }
    }
    Ok(accepted)
}
