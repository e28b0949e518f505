//! The key side of Guard: data keys created on first use, cached, shredded, rewrapped.

use std::sync::Arc;

use chrono::{DateTime, Utc};
use fintra_core::TenantId;

use crate::GuardError;
use crate::keys::{
    DataKey, KeyCache, KeyProvider, KeyState, KeyStore, SubjectId, WrappedKey, wrap_aad,
};
use crate::seal::KeyMaterial;

/// A subject's data key, unwrapped and ready to use.
pub(crate) type Unwrapped = Arc<KeyMaterial>;

/// What a read finds for a subject.
pub(crate) enum Lookup {
    /// Its key.
    Key(Unwrapped),
    /// Erased.
    Shredded,
    /// It never had a key here: whatever is sealed for it was not sealed by this key store.
    Missing,
}

/// Data keys for every subject of every tenant: a [`KeyProvider`] for tenant keys, a
/// [`KeyStore`] for wrapped data keys and a [`KeyCache`] for unwrapped ones. Share one `Guard`
/// (in an `Arc`) between the store decorators of a process.
pub struct Guard {
    provider: Arc<dyn KeyProvider>,
    keys: Arc<dyn KeyStore>,
    cache: KeyCache,
}

impl std::fmt::Debug for Guard {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Guard").field("cache", &self.cache).finish_non_exhaustive()
    }
}

impl Guard {
    /// Guard over `provider` and `keys`, with the default key cache.
    pub fn new(provider: Arc<dyn KeyProvider>, keys: Arc<dyn KeyStore>) -> Self {
        Self { provider, keys, cache: KeyCache::default() }
    }

    /// The same guard with another key cache (a shorter lifetime, or none with capacity 0).
    #[must_use]
    pub fn with_cache(mut self, cache: KeyCache) -> Self {
        self.cache = cache;
        self
    }

    /// The key store.
    pub fn key_store(&self) -> &Arc<dyn KeyStore> {
        &self.keys
    }

    async fn unwrap_key(&self, wrapped: &WrappedKey) -> Result<Unwrapped, GuardError> {
        let key = self
            .provider
            .unwrap(
                &wrapped.tenant,
                wrapped.tenant_key_version,
                &wrapped.wrapped,
                &wrapped.associated_data(),
            )
            .await?;
        Ok(Arc::new(KeyMaterial::new(&key, wrapped.key_id)?))
    }

    /// The subject's key for sealing: created (and stored) on first use.
    ///
    /// # Errors
    /// [`GuardError::Shredded`] for an erased subject; provider and key-store errors.
    pub(crate) async fn key_for_sealing(
        &self,
        tenant: &TenantId,
        subject: &SubjectId,
        now: DateTime<Utc>,
    ) -> Result<Unwrapped, GuardError> {
        if let Some(material) = self.cache.get(tenant, subject) {
            return Ok(material);
        }
        let state = match self.keys.get(tenant, subject).await? {
            Some(state) => state,
            None => self.keys.insert(self.new_wrapped_key(tenant, subject, now).await?).await?,
        };
        match state {
            KeyState::Active(wrapped) => {
                let unwrapped = self.unwrap_key(&wrapped).await?;
                self.cache.put(tenant, subject, Arc::clone(&unwrapped));
                Ok(unwrapped)
            }
            KeyState::Shredded { .. } => Err(GuardError::Shredded(subject.clone())),
        }
    }

    async fn new_wrapped_key(
        &self,
        tenant: &TenantId,
        subject: &SubjectId,
        now: DateTime<Utc>,
    ) -> Result<WrappedKey, GuardError> {
        let key = DataKey::generate()?;
        let mut key_id = [0u8; 16];
        getrandom::getrandom(&mut key_id).map_err(|e| GuardError::Random(e.to_string()))?;
        let version = self.provider.current_version(tenant).await?;
        let aad = wrap_aad(tenant, subject, &key_id, version);
        let wrapped = self.provider.wrap(tenant, version, &key, &aad).await?;
        Ok(WrappedKey {
            tenant: tenant.clone(),
            subject: subject.clone(),
            key_id,
            tenant_key_version: version,
            wrapped,
            created_at: now,
        })
    }

    /// The subject's key for opening, or whether it was erased or never existed.
    ///
    /// # Errors
    /// Provider and key-store errors.
    pub(crate) async fn key_for_opening(
        &self,
        tenant: &TenantId,
        subject: &SubjectId,
    ) -> Result<Lookup, GuardError> {
        if let Some(material) = self.cache.get(tenant, subject) {
            return Ok(Lookup::Key(material));
        }
        match self.keys.get(tenant, subject).await? {
            Some(KeyState::Active(wrapped)) => {
                let unwrapped = self.unwrap_key(&wrapped).await?;
                self.cache.put(tenant, subject, Arc::clone(&unwrapped));
                Ok(Lookup::Key(unwrapped))
            }
            Some(KeyState::Shredded { .. }) => Ok(Lookup::Shredded),
            None => Ok(Lookup::Missing),
        }
    }

    /// Erases the subject's data key (a tombstone stays) and drops it from this process's
    /// cache. Returns true if a key was erased now, false if it already was (or never existed).
    ///
    /// # Errors
    /// Key-store errors.
    pub async fn shred_key(
        &self,
        tenant: &TenantId,
        subject: &SubjectId,
        at: DateTime<Utc>,
    ) -> Result<bool, GuardError> {
        self.cache.evict(tenant, subject);
        let erased = self.keys.shred(tenant, subject, at).await?;
        self.cache.evict(tenant, subject);
        Ok(erased)
    }

    /// Tenant-key rotation: rewraps every data key of `tenant` wrapped with an older tenant key
    /// version under the current one, without touching any event. Returns how many were
    /// rewrapped. Safe to run concurrently with reads, writes and shredding (a key shredded or
    /// rewrapped meanwhile is left alone).
    ///
    /// # Errors
    /// Provider and key-store errors.
    pub async fn rotate_tenant_key(&self, tenant: &TenantId) -> Result<u64, GuardError> {
        let version = self.provider.current_version(tenant).await?;
        let mut rewrapped = 0u64;
        loop {
            let page = self.keys.wrapped_before(tenant, version, 500).await?;
            if page.is_empty() {
                return Ok(rewrapped);
            }
            let mut moved = 0;
            for old in page {
                let key = self
                    .provider
                    .unwrap(
                        &old.tenant,
                        old.tenant_key_version,
                        &old.wrapped,
                        &old.associated_data(),
                    )
                    .await?;
                let aad = wrap_aad(&old.tenant, &old.subject, &old.key_id, version);
                let wrapped = self.provider.wrap(tenant, version, &key, &aad).await?;
                let replacement =
                    WrappedKey { tenant_key_version: version, wrapped, ..old.clone() };
                if self.keys.rewrap(&old, replacement).await? {
                    rewrapped += 1;
                    moved += 1;
                }
            }
            if moved == 0 {
                // Every key of the page changed meanwhile (shredded, or rewrapped by another
                // rotation): stop rather than ask for the same page again.
                return Ok(rewrapped);
            }
        }
    }
}
