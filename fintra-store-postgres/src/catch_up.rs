//! [`PgEventStore::read_all_pages`]: the global log page after page, with the next page fetched
//! while the current one is decoded and consumed.

use fintra_core::backend::check_read_limit;
use fintra_core::{Position, RecordedEvent, Result};
use futures::Stream;
use tokio::task::JoinHandle;

use crate::PgEventStore;
use crate::copy_decode::{decode_with, scan_last};
use crate::rows::IdCache;

/// A page fetched but not decoded: the raw `COPY` bytes.
type Fetch = JoinHandle<Result<bytes::Bytes>>;

/// Aborts the prefetch when the reader is dropped (its connection is closed, not pooled, if the
/// fetch was midway: see `Checkout`).
struct Prefetch(Option<Fetch>);

impl Drop for Prefetch {
    fn drop(&mut self) {
        if let Some(fetch) = self.0.take() {
            fetch.abort();
        }
    }
}

/// Where a catch-up stands between pages.
struct Reader {
    store: PgEventStore,
    after: Position,
    limit: usize,
    /// Stream and tenant ids decoded so far, reused by later pages.
    ids: IdCache,
}

impl PgEventStore {
    /// The global log after `after`, as a stream of pages of at most `limit` events (the same
    /// pages [`EventStore::read_all`](fintra_core::EventStore::read_all) returns, gap-safe), that
    /// ends at the first empty page — where a reader has caught up with what is visible now.
    ///
    /// It is the catch-up path: while the caller decodes and handles page *n*, page *n + 1* is
    /// already being produced by the server on a second pooled connection (the position to
    /// continue from is found by walking the raw rows, without decoding them). A reader that
    /// stops early simply drops the stream; the fetch in flight is cancelled.
    ///
    /// # Errors
    /// Each item is a page or the error that ended the stream: `InvalidInput` for a `limit` of 0
    /// or above `READ_PAGE_EVENTS_MAX`, `Backend`, `Corrupted`.
    pub fn read_all_pages(
        &self,
        after: Position,
        limit: usize,
    ) -> impl Stream<Item = Result<Vec<RecordedEvent>>> + Send + 'static {
        let reader = Reader { store: self.clone(), after, limit, ids: IdCache::default() };
        let state = (reader, Prefetch(None), false);
        futures::stream::unfold(state, |(mut reader, mut prefetch, done)| async move {
            if done {
                return None;
            }
            if let Err(error) = check_read_limit(reader.limit) {
                return Some((Err(error), (reader, prefetch, true)));
            }
            // Awaited in place: dropping the stream during this await drops `prefetch`, whose
            // `Drop` aborts the fetch (taking the handle out first would detach it instead).
            let fetched = match prefetch.0.as_mut() {
                Some(fetch) => {
                    let joined = fetch.await;
                    prefetch.0 = None;
                    joined.unwrap_or_else(|join| {
                        Err(fintra_core::Error::backend(std::io::Error::other(join.to_string())))
                    })
                }
                None => reader.store.read_all_raw(reader.after, reader.limit, 0).await,
            };
            let page = fetched.and_then(|bytes| {
                let (rows, last) = scan_last(&bytes)?;
                Ok((bytes, rows, last))
            });
            let (bytes, rows, last) = match page {
                Ok(page) => page,
                Err(error) => return Some((Err(error), (reader, prefetch, true))),
            };
            // An empty page: caught up.
            let last = last.filter(|_| rows > 0)?;
            reader.after = last;
            // The next page starts now, on its own connection, while this one is decoded; its
            // buffer starts at this page's size.
            let (next, limit, size) = (reader.store.clone(), reader.limit, bytes.len() / 8 * 9);
            prefetch.0 =
                Some(tokio::spawn(async move { next.read_all_raw(last, limit, size).await }));
            let decoded = decode_with(bytes, rows, &mut reader.ids);
            let stop = decoded.is_err();
            Some((decoded, (reader, prefetch, stop)))
        })
    }
}
