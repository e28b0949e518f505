//! Keys: a data key per data subject, wrapped by a tenant key that a [`KeyProvider`] holds.
//!
//! - A **data key** ([`DataKey`], 256 bits) encrypts one subject's payloads. It exists in clear
//!   only in memory: generated, used, cached for a bounded time, and zeroized when dropped.
//! - A **tenant key** wraps data keys (AES-256-GCM). The [`KeyProvider`] trait has the shape of a
//!   KMS or Vault transit engine: `wrap` and `unwrap`, by tenant and key version, with associated
//!   data. [`LocalKeyProvider`] derives tenant keys from a master key (a file or an environment
//!   variable) with HKDF-SHA256: the embedded default.
//! - A **key store** ([`KeyStore`]) keeps the wrapped keys, and after shredding a tombstone that
//!   holds no key material, so the subject can never be encrypted to again. In memory
//!   ([`InMemoryKeyStore`]) or in PostgreSQL under row-level security (feature `postgres`).
//!
//! The wrapped key's associated data binds the tenant, the subject and both key versions: a
//! wrapped key copied to another subject or tenant does not unwrap.

mod cache;
mod local;
mod memory;
#[cfg(feature = "postgres")]
pub mod postgres;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use fintra_core::TenantId;
use serde::{Deserialize, Serialize};
use zeroize::Zeroize;

pub use cache::{KEY_CACHE_ENTRIES_MAX, KEY_CACHE_TTL, KeyCache};
pub use local::LocalKeyProvider;
pub use memory::InMemoryKeyStore;

use crate::GuardError;

/// Longest subject id, in bytes.
pub const SUBJECT_ID_BYTES_MAX: usize = 256;

/// A data subject: the person (in FintraOS, the profile) whose data one key protects. An opaque
/// id — it stays in plaintext metadata, so it must not itself be personal data.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(transparent)]
pub struct SubjectId(String);

impl SubjectId {
    /// Validates and wraps a subject id: non-empty, at most [`SUBJECT_ID_BYTES_MAX`] bytes, no
    /// whitespace or control characters.
    ///
    /// # Errors
    /// [`GuardError::InvalidSubject`].
    pub fn new(value: impl Into<String>) -> Result<Self, GuardError> {
        let value = value.into();
        let bad = value.is_empty()
            || value.len() > SUBJECT_ID_BYTES_MAX
            || value.chars().any(|c| c.is_control() || c.is_whitespace());
        if bad {
            return Err(GuardError::InvalidSubject(value.chars().take(64).collect()));
        }
        Ok(Self(value))
    }

    /// The id as a string slice.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Display for SubjectId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// A 256-bit key in clear, zeroized when dropped. Its `Debug` shows no key bytes.
#[derive(Clone, PartialEq, Eq)]
pub struct DataKey([u8; 32]);

impl Drop for DataKey {
    fn drop(&mut self) {
        self.0.zeroize();
    }
}

impl DataKey {
    /// A fresh random key from the operating system.
    ///
    /// # Errors
    /// [`GuardError::Random`] when the system has no randomness to give.
    pub fn generate() -> Result<Self, GuardError> {
        let mut bytes = [0u8; 32];
        getrandom::getrandom(&mut bytes).map_err(|e| GuardError::Random(e.to_string()))?;
        Ok(Self(bytes))
    }

    /// A key from its bytes (tests, key import).
    pub fn from_bytes(bytes: [u8; 32]) -> Self {
        Self(bytes)
    }

    /// The key bytes.
    pub fn as_bytes(&self) -> &[u8; 32] {
        &self.0
    }
}

impl std::fmt::Debug for DataKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("DataKey(…)")
    }
}

/// A data key as the key store keeps it: wrapped by a tenant key.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct WrappedKey {
    /// The tenant.
    pub tenant: TenantId,
    /// The subject.
    pub subject: SubjectId,
    /// A random id of this data key, written into every payload it seals (so a payload of an
    /// erased key is told apart from a tampered one).
    pub key_id: [u8; 16],
    /// The tenant key version that wrapped it.
    pub tenant_key_version: u32,
    /// Nonce and ciphertext of the data key.
    pub wrapped: Vec<u8>,
    /// When the data key was made.
    pub created_at: DateTime<Utc>,
}

impl WrappedKey {
    /// The associated data that binds a wrapped key to its tenant, subject, key id and tenant
    /// key version.
    pub fn associated_data(&self) -> Vec<u8> {
        wrap_aad(&self.tenant, &self.subject, &self.key_id, self.tenant_key_version)
    }
}

/// Associated data of a wrapped key.
pub(crate) fn wrap_aad(
    tenant: &TenantId,
    subject: &SubjectId,
    key_id: &[u8; 16],
    version: u32,
) -> Vec<u8> {
    let mut aad = b"fintra-guard/wrap/v1".to_vec();
    for part in [tenant.as_str().as_bytes(), subject.as_str().as_bytes(), key_id.as_slice()] {
        aad.extend_from_slice(&(part.len() as u64).to_le_bytes());
        aad.extend_from_slice(part);
    }
    aad.extend_from_slice(&version.to_le_bytes());
    aad
}

/// What the key store knows of a subject.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum KeyState {
    /// Its data key, wrapped.
    Active(WrappedKey),
    /// Erased: the key is gone for good.
    Shredded {
        /// When.
        at: DateTime<Utc>,
    },
}

/// Where tenant keys live: a local master key, a KMS, a Vault transit engine. Implementations
/// must never log key material.
#[async_trait]
pub trait KeyProvider: Send + Sync {
    /// The tenant key version new data keys are wrapped with.
    ///
    /// # Errors
    /// [`GuardError::KeyProvider`] when the provider cannot answer.
    async fn current_version(&self, tenant: &TenantId) -> Result<u32, GuardError>;

    /// Wraps `key` with the tenant's key `version`, binding `aad`.
    ///
    /// # Errors
    /// [`GuardError::KeyProvider`] (an unknown version included).
    async fn wrap(
        &self,
        tenant: &TenantId,
        version: u32,
        key: &DataKey,
        aad: &[u8],
    ) -> Result<Vec<u8>, GuardError>;

    /// Unwraps a key [`KeyProvider::wrap`] wrapped with the same tenant, version and `aad`.
    ///
    /// # Errors
    /// [`GuardError::Tampered`] when the wrapped bytes or `aad` do not authenticate;
    /// [`GuardError::KeyProvider`] otherwise.
    async fn unwrap(
        &self,
        tenant: &TenantId,
        version: u32,
        wrapped: &[u8],
        aad: &[u8],
    ) -> Result<DataKey, GuardError>;
}

/// Where wrapped data keys live.
///
/// # Contract
/// - `insert` keeps the first key of a subject: when two writers race to create one, both get
///   the same winner back.
/// - `shred` replaces the key with a tombstone (no key material) and is idempotent; after it
///   `get` answers [`KeyState::Shredded`] and `insert` refuses.
/// - `rewrap` replaces a wrapped key only if it is still the one `expected` names (rotation
///   never overwrites a shred or a concurrent rewrap).
#[async_trait]
pub trait KeyStore: Send + Sync {
    /// The subject's key state; `None` when it has never had a key.
    ///
    /// # Errors
    /// [`GuardError::KeyStore`].
    async fn get(
        &self,
        tenant: &TenantId,
        subject: &SubjectId,
    ) -> Result<Option<KeyState>, GuardError>;

    /// Stores `key` unless the subject has a key or a tombstone; returns what is stored.
    ///
    /// # Errors
    /// [`GuardError::KeyStore`].
    async fn insert(&self, key: WrappedKey) -> Result<KeyState, GuardError>;

    /// Erases the subject's key; returns true if a key was erased now.
    ///
    /// # Errors
    /// [`GuardError::KeyStore`].
    async fn shred(
        &self,
        tenant: &TenantId,
        subject: &SubjectId,
        at: DateTime<Utc>,
    ) -> Result<bool, GuardError>;

    /// Replaces `expected` (same tenant, subject, key id and tenant key version) with
    /// `replacement`; false when the stored key is no longer `expected`.
    ///
    /// # Errors
    /// [`GuardError::KeyStore`].
    async fn rewrap(
        &self,
        expected: &WrappedKey,
        replacement: WrappedKey,
    ) -> Result<bool, GuardError>;

    /// The tenant's active wrapped keys with a tenant key version below `version`, at most
    /// `limit` (rotation pages through them).
    ///
    /// # Errors
    /// [`GuardError::KeyStore`].
    async fn wrapped_before(
        &self,
        tenant: &TenantId,
        version: u32,
        limit: usize,
    ) -> Result<Vec<WrappedKey>, GuardError>;
}
