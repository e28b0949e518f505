//! Wrapped keys in memory: the embedded default and the reference for the [`KeyStore`]
//! contract.

use std::collections::HashMap;
use std::sync::Mutex;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use fintra_core::TenantId;

use super::{KeyState, KeyStore, SubjectId, WrappedKey};
use crate::GuardError;

/// Wrapped keys in a map. Lost with the process, and with them everything they protect: use
/// the PostgreSQL store (feature `postgres`) for data that outlives it.
#[derive(Debug, Default)]
pub struct InMemoryKeyStore {
    keys: Mutex<HashMap<(TenantId, SubjectId), KeyState>>,
}

impl InMemoryKeyStore {
    /// An empty store.
    pub fn new() -> Self {
        Self::default()
    }

    fn with<T>(
        &self,
        f: impl FnOnce(&mut HashMap<(TenantId, SubjectId), KeyState>) -> T,
    ) -> Result<T, GuardError> {
        let mut keys =
            self.keys.lock().map_err(|_| GuardError::KeyStore("key store lock poisoned".into()))?;
        Ok(f(&mut keys))
    }
}

#[async_trait]
impl KeyStore for InMemoryKeyStore {
    async fn get(
        &self,
        tenant: &TenantId,
        subject: &SubjectId,
    ) -> Result<Option<KeyState>, GuardError> {
        self.with(|keys| keys.get(&(tenant.clone(), subject.clone())).cloned())
    }

    async fn insert(&self, key: WrappedKey) -> Result<KeyState, GuardError> {
        self.with(|keys| {
            keys.entry((key.tenant.clone(), key.subject.clone()))
                .or_insert(KeyState::Active(key))
                .clone()
        })
    }

    async fn shred(
        &self,
        tenant: &TenantId,
        subject: &SubjectId,
        at: DateTime<Utc>,
    ) -> Result<bool, GuardError> {
        self.with(|keys| {
            let previous =
                keys.insert((tenant.clone(), subject.clone()), KeyState::Shredded { at });
            match previous {
                Some(KeyState::Shredded { at: earlier }) => {
                    keys.insert(
                        (tenant.clone(), subject.clone()),
                        KeyState::Shredded { at: earlier },
                    );
                    false
                }
                Some(KeyState::Active(_)) => true,
                None => false,
            }
        })
    }

    async fn rewrap(
        &self,
        expected: &WrappedKey,
        replacement: WrappedKey,
    ) -> Result<bool, GuardError> {
        self.with(|keys| match keys.get_mut(&(expected.tenant.clone(), expected.subject.clone())) {
            Some(state) if matches!(&*state, KeyState::Active(k) if k == expected) => {
                *state = KeyState::Active(replacement);
                true
            }
            _ => false,
        })
    }

    async fn wrapped_before(
        &self,
        tenant: &TenantId,
        version: u32,
        limit: usize,
    ) -> Result<Vec<WrappedKey>, GuardError> {
        self.with(|keys| {
            let mut out: Vec<WrappedKey> = keys
                .values()
                .filter_map(|state| match state {
                    KeyState::Active(k)
                        if &k.tenant == tenant && k.tenant_key_version < version =>
                    {
                        Some(k.clone())
                    }
                    _ => None,
                })
                .collect();
            out.sort_by(|a, b| a.subject.cmp(&b.subject));
            out.truncate(limit);
            out
        })
    }
}
