//! Unwrapped data keys, kept for a bounded time.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use std::sync::Arc;

use fintra_core::TenantId;

use super::SubjectId;
use crate::seal::KeyMaterial;

/// How long an unwrapped data key is kept by default.
pub const KEY_CACHE_TTL: Duration = Duration::from_secs(300);
/// Most unwrapped keys kept by default.
pub const KEY_CACHE_ENTRIES_MAX: usize = 10_000;

struct Entry {
    material: Arc<KeyMaterial>,
    expires: Instant,
}

/// Unwrapped data keys by (tenant, subject): at most `capacity`, each for at most `ttl`.
/// Evicted keys are zeroized (the cipher state zeroizes on drop). Shredding evicts at once in this
/// process; another process's cache keeps a key until its `ttl` runs out, so a shred is
/// complete everywhere after one `ttl` (docs/guard.md).
pub struct KeyCache {
    entries: Mutex<HashMap<(TenantId, SubjectId), Entry>>,
    ttl: Duration,
    capacity: usize,
}

impl std::fmt::Debug for KeyCache {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let len = self.entries.lock().map(|e| e.len()).unwrap_or(0);
        f.debug_struct("KeyCache")
            .field("entries", &len)
            .field("ttl", &self.ttl)
            .field("capacity", &self.capacity)
            .finish()
    }
}

impl Default for KeyCache {
    fn default() -> Self {
        Self::new(KEY_CACHE_TTL, KEY_CACHE_ENTRIES_MAX)
    }
}

impl KeyCache {
    /// A cache keeping at most `capacity` keys for at most `ttl` each (`capacity` 0 keeps none).
    pub fn new(ttl: Duration, capacity: usize) -> Self {
        Self { entries: Mutex::new(HashMap::new()), ttl, capacity }
    }

    /// The cached key of a subject, if fresh.
    pub(crate) fn get(&self, tenant: &TenantId, subject: &SubjectId) -> Option<Arc<KeyMaterial>> {
        let mut entries = self.entries.lock().ok()?;
        let slot = (tenant.clone(), subject.clone());
        match entries.get(&slot) {
            Some(entry) if entry.expires > Instant::now() => Some(Arc::clone(&entry.material)),
            Some(_) => {
                entries.remove(&slot);
                None
            }
            None => None,
        }
    }

    /// Keeps a key; when full, expired keys go first, then an arbitrary one.
    pub(crate) fn put(&self, tenant: &TenantId, subject: &SubjectId, material: Arc<KeyMaterial>) {
        if self.capacity == 0 {
            return;
        }
        let Ok(mut entries) = self.entries.lock() else { return };
        if entries.len() >= self.capacity {
            let now = Instant::now();
            entries.retain(|_, e| e.expires > now);
        }
        if entries.len() >= self.capacity
            && let Some(victim) = entries.keys().next().cloned()
        {
            entries.remove(&victim);
        }
        let expires = Instant::now() + self.ttl;
        entries.insert((tenant.clone(), subject.clone()), Entry { material, expires });
    }

    /// Drops a subject's key now.
    pub fn evict(&self, tenant: &TenantId, subject: &SubjectId) {
        if let Ok(mut entries) = self.entries.lock() {
            entries.remove(&(tenant.clone(), subject.clone()));
        }
    }

    /// Drops every key.
    pub fn clear(&self) {
        if let Ok(mut entries) = self.entries.lock() {
            entries.clear();
        }
    }
}
