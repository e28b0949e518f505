//! Batches on a [`Ledger`]: [`Ledger::submit`] writes many transfers per book in one append, and
//! concurrent [`Ledger::transfer`] calls for one book are coalesced into such a batch.
//!
//! Coalescing: a caller queues its transfer on its book's queue, then takes the book's lock.
//! Whoever holds the lock drains the queue and decides everything in it as one batch — so the
//! batch is whatever queued while the previous append was in flight, with no timer, and a lone
//! caller's transfer goes out at once as an ordinary `Transferred` event. Each caller gets its
//! own answer. If the batch fails in the store, or the caller running it is dropped midway,
//! every other caller retries its own transfer alone: transfers are idempotent by id, so a retry
//! of one that was written returns the original record.

use std::collections::BTreeMap;

use futures::channel::oneshot;
use futures::future::Either;

use super::{Held, Ledger, LedgerError};
use crate::BATCH_TRANSFERS_MAX;
use crate::book::{BATCH_EVENTS_WHAT, BatchDecision};
use crate::types::{BatchEntry, Command, NewTransfer, Rejection, Transfer, TransferKind};
use fintra_core::{Error, EventStore};

/// What a coalesced caller hears back.
pub(super) enum Answer {
    Done(Result<Vec<Transfer>, Rejection>),
    /// The batch could not answer for this transfer: run it alone.
    Alone,
}

/// A transfer waiting on its book's queue.
pub(super) struct Waiting {
    request: NewTransfer,
    reply: oneshot::Sender<Answer>,
}

/// Per entry of a submitted batch: what was recorded, or why it was refused.
pub type BatchResults = Vec<Result<Vec<Transfer>, Rejection>>;

impl<S: EventStore> Ledger<S> {
    /// Submits a batch of transfers and linked chains, each with its own result, in order: up to
    /// [`BATCH_TRANSFERS_MAX`] transfers, written per book in one append (so in one commit on
    /// PostgreSQL) instead of one append each. A refused entry changes nothing and does not stop
    /// the others; a linked chain is all or nothing. A posted transfer between books runs as
    /// [`Ledger::transfer`]'s saga, after the batch; a linked chain across books is refused
    /// ([`Rejection::CrossBook`]). Entries retried with the same ids return the original records.
    ///
    /// # Errors
    /// [`Rejection::EmptyBatch`], [`Rejection::TooLarge`] for more than [`BATCH_TRANSFERS_MAX`]
    /// transfers, or a store error (entries of books already written stay written; resubmitting
    /// the same batch finishes it).
    pub async fn submit(&self, entries: Vec<BatchEntry>) -> Result<BatchResults, LedgerError> {
        if entries.is_empty() {
            return Err(Rejection::EmptyBatch.into());
        }
        let transfers: usize = entries.iter().map(|e| e.requests().len()).sum();
        if transfers > BATCH_TRANSFERS_MAX {
            let what = "transfers in one batch";
            return Err(
                Rejection::TooLarge { what, max: BATCH_TRANSFERS_MAX, actual: transfers }.into()
            );
        }
        let mut results: Vec<Option<Result<Vec<Transfer>, Rejection>>> = vec![None; entries.len()];
        let mut per_book: BTreeMap<usize, Vec<usize>> = BTreeMap::new();
        let mut sagas = Vec::new();
        for (i, entry) in entries.iter().enumerate() {
            match self.book_of_entry(entry).await {
                Ok(Some(book)) => per_book.entry(book).or_default().push(i),
                Ok(None) => sagas.push(i),
                Err(rejection) => results[i] = Some(Err(rejection)),
            }
        }
        for (book, members) in per_book {
            let batch: Vec<BatchEntry> = members.iter().map(|&i| entries[i].clone()).collect();
            let answers = self.run_batch(book, &batch).await?;
            for (i, answer) in members.into_iter().zip(answers) {
                results[i] = Some(answer);
            }
        }
        for i in sagas {
            if let BatchEntry::Single(request) = &entries[i] {
                results[i] = Some(match self.transfer_alone(request.clone()).await {
                    Ok(records) => Ok(records),
                    Err(LedgerError::Rejected(rejection)) => Err(rejection),
                    Err(store) => return Err(store),
                });
            }
        }
        Ok(results.into_iter().map(|r| r.unwrap_or(Err(Rejection::EmptyBatch))).collect())
    }

    /// The book an entry runs in; `None` for a posted transfer between books (a saga).
    async fn book_of_entry(&self, entry: &BatchEntry) -> Result<Option<usize>, Rejection> {
        match entry {
            BatchEntry::Single(request) => {
                if let TransferKind::Posted { leg } = &request.kind
                    && self.route(request.id, leg.debit, leg.credit).is_err()
                {
                    return Ok(None);
                }
                self.book_of_request(request).await.map(Some)
            }
            BatchEntry::Linked(requests) => {
                let mut book = None;
                for request in requests {
                    let k = self.book_of_request(request).await?;
                    if *book.get_or_insert(k) != k {
                        return Err(Rejection::CrossBook { id: request.id });
                    }
                }
                book.map(Some).ok_or(Rejection::EmptyBatch)
            }
        }
    }

    /// Decides and appends one book's batch under the book's lock.
    async fn run_batch(
        &self,
        book: usize,
        batch: &[BatchEntry],
    ) -> Result<BatchResults, LedgerError> {
        let Some(slot) = self.books.get(book) else {
            return Err(Error::invalid("book", "no such book").into());
        };
        let mut held = slot.lock().await;
        self.decide_and_append(&mut held, batch).await
    }

    /// Decides a batch against the held book and appends what it accepted.
    async fn decide_and_append(
        &self,
        held: &mut Held,
        batch: &[BatchEntry],
    ) -> Result<BatchResults, LedgerError> {
        let Held { stream, loaded } = held;
        let mut decision = BatchDecision::default();
        let executed = self
            .repository
            .execute_in_place_with(stream, loaded, &self.metadata, |state, ctx| {
                let mut decided = state.decide_batch(batch, ctx.now())?;
                let events = std::mem::take(&mut decided.events);
                // Nothing to write but a refusal: the repository confirms it against the
                // current state (catching up first) before it stands.
                let refused = events.is_empty().then(|| decided.first_rejection().cloned());
                decision = decided;
                match refused.flatten() {
                    Some(rejection) => Err(rejection),
                    None => Ok(events),
                }
            })
            .await;
        match executed {
            Ok(_) => {}
            // The batch as a whole was refused (empty, too large) before any entry was decided.
            Err(error) if decision.results.len() != batch.len() => return Err(error.into()),
            Err(error) => match error.into_rejection() {
                Ok(_every_entry_refused) => {}
                Err(store) => return Err(store.into()),
            },
        }
        let state = &loaded.state;
        Ok(batch
            .iter()
            .zip(decision.results)
            .map(|(entry, result)| {
                result.map(|()| {
                    entry.requests().iter().filter_map(|r| state.transfer(r.id).cloned()).collect()
                })
            })
            .collect())
    }

    /// A single-book transfer through the book's queue (see the module docs).
    pub(super) async fn coalesced(
        &self,
        book: usize,
        request: NewTransfer,
    ) -> Result<Vec<Transfer>, LedgerError> {
        let Some((slot, queue)) = self.books.get(book).zip(self.queues.get(book)) else {
            return Err(Error::invalid("book", "no such book").into());
        };
        let (reply, mut answer) = oneshot::channel();
        queue
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .push(Waiting { request: request.clone(), reply });
        // Wait for the answer or the book, whichever comes first: a caller whose transfer
        // another caller already wrote returns without queueing for the lock (else every lock
        // holder would find one new transfer to write, and the batches would shrink to one).
        let answered = loop {
            let lock = slot.lock();
            match futures::future::select(&mut answer, lock).await {
                Either::Left((answered, _lock)) => break answered,
                Either::Right((mut held, _answer)) => {
                    // At most one full batch; the rest stays queued for the next holder.
                    let waiting: Vec<Waiting> = {
                        let mut queued =
                            queue.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
                        let n = queued.len().min(BATCH_TRANSFERS_MAX);
                        queued.drain(..n).filter(|w| !w.reply.is_canceled()).collect()
                    };
                    if !waiting.is_empty() {
                        self.answer(&mut held, waiting).await;
                    }
                    // Ours was in this batch or an earlier one — or is still queued behind a
                    // full batch, and the loop contends for the book again.
                }
            }
        };
        match answered {
            Ok(Answer::Done(result)) => result.map_err(LedgerError::from),
            // The batch failed, or whoever ran it was dropped midway.
            Ok(Answer::Alone) | Err(oneshot::Canceled) => self.transfer_alone(request).await,
        }
    }

    /// Runs the queued transfers (the book's lock held) and answers each caller.
    async fn answer(&self, held: &mut Held, mut waiting: Vec<Waiting>) {
        if waiting.len() == 1
            && let Some(only) = waiting.pop()
        {
            // Alone: the ordinary command, written as a plain `Transferred` event.
            let id = only.request.id;
            let Held { stream, loaded } = held;
            let command = Command::Transfer(only.request);
            let run = self.repository.execute_in_place(stream, loaded, &command, &self.metadata);
            let answer = match run.await.map_err(LedgerError::from) {
                Ok(_) => match loaded.state.transfer(id) {
                    Some(t) => Answer::Done(Ok(vec![t.clone()])),
                    None => Answer::Alone,
                },
                Err(LedgerError::Rejected(rejection)) => Answer::Done(Err(rejection)),
                Err(LedgerError::Store(_)) => Answer::Alone,
            };
            let _ = only.reply.send(answer);
            return;
        }
        let entries: Vec<BatchEntry> =
            waiting.iter().map(|w| BatchEntry::Single(w.request.clone())).collect();
        let decided = self.decide_and_append(held, &entries).await;
        match decided {
            Ok(results) => {
                for (w, result) in waiting.into_iter().zip(results) {
                    let answer = match result {
                        // A limit of the batch, not of this transfer: it runs on its own.
                        Err(Rejection::TooLarge { what, .. }) if what == BATCH_EVENTS_WHAT => {
                            Answer::Alone
                        }
                        other => Answer::Done(other),
                    };
                    let _ = w.reply.send(answer);
                }
            }
            Err(_) => {
                for w in waiting {
                    let _ = w.reply.send(Answer::Alone);
                }
            }
        }
    }
}
