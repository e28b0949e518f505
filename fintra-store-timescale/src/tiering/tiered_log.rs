//! [`TieredLog`]: the global log read across the cold archive and the warm store.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use fintra_core::{Error, EventStore, Position, RecordedEvent, Result};
use fintra_store_parquet::{Manifest, ParquetArchive, ReadFilter};

use super::archive_error;
use crate::store::TimescaleEventStore;

/// Reads the global log across the cold archive and the warm store: archived events first (by
/// position), then the live table, merged by position with duplicates removed (an exported
/// partition not yet dropped is in both). For replays from position 0 after tiering.
pub struct TieredLog {
    store: TimescaleEventStore,
    archive: Arc<ParquetArchive>,
    /// Recently read archives (a page may touch two at a boundary).
    cache: Mutex<Vec<(String, Arc<Vec<RecordedEvent>>)>>,
}

impl std::fmt::Debug for TieredLog {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TieredLog").field("archive", &self.archive).finish_non_exhaustive()
    }
}

/// Archives a [`TieredLog`] keeps decoded in memory.
const CACHED_ARCHIVES: usize = 2;

impl TieredLog {
    /// A reader over `archive` then `store`.
    pub fn new(store: TimescaleEventStore, archive: Arc<ParquetArchive>) -> Self {
        Self { store, archive, cache: Mutex::new(Vec::new()) }
    }

    async fn archived(&self, manifest: &Manifest) -> Result<Arc<Vec<RecordedEvent>>> {
        if let Ok(cache) = self.cache.lock()
            && let Some((_, events)) = cache.iter().find(|(id, _)| *id == manifest.archive_id)
        {
            return Ok(Arc::clone(events));
        }
        let events = Arc::new(
            self.archive
                .read(&manifest.archive_id, &ReadFilter::default())
                .await
                .map_err(archive_error)?,
        );
        if let Ok(mut cache) = self.cache.lock() {
            if cache.len() >= CACHED_ARCHIVES {
                cache.remove(0);
            }
            cache.push((manifest.archive_id.clone(), Arc::clone(&events)));
        }
        Ok(events)
    }

    /// Up to `limit` events after `after`, in position order, from both tiers. Gap-safe like
    /// the warm store's `read_all`.
    ///
    /// # Errors
    /// `LimitExceeded` for a page over the read limit; archive and database errors.
    pub async fn read_all(&self, after: Position, limit: usize) -> Result<Vec<RecordedEvent>> {
        fintra_core::backend::check_read_limit(limit)?;
        let horizon: i64 = sqlx::query_scalar(
            "SELECT pg_snapshot_xmin(pg_current_snapshot())::text::bigint << 20",
        )
        .fetch_one(self.store.pool())
        .await
        .map_err(Error::backend)?;
        let horizon = u64::try_from(horizon).unwrap_or(0);
        let mut page: HashMap<u64, RecordedEvent> = HashMap::new();
        let warm = self.store.log().read_all(after, limit).await?;
        page.extend(warm.into_iter().map(|e| (e.position.get(), e)));
        let mut manifests = self.archive.list().await.map_err(archive_error)?;
        manifests.retain(|m| m.last_position > after.get());
        manifests.sort_by_key(|m| m.first_position);
        for manifest in &manifests {
            // Once the page is full, an archive starting beyond its last event adds nothing.
            if page.len() >= limit
                && page.keys().max().is_some_and(|&max| manifest.first_position > max)
            {
                break;
            }
            let events = self.archived(manifest).await?;
            let start = events.partition_point(|e| e.position <= after);
            for event in events[start..].iter().take(limit) {
                if event.position.get() < horizon {
                    page.entry(event.position.get()).or_insert_with(|| event.clone());
                }
            }
        }
        let mut events: Vec<RecordedEvent> = page.into_values().collect();
        events.sort_by_key(|e| e.position);
        events.truncate(limit);
        Ok(events)
    }
}
