//! The embedded key provider: tenant keys derived from a local master key.

use std::collections::BTreeMap;

use aes_gcm::aead::{Aead, KeyInit, Payload};
use aes_gcm::{Aes256Gcm, Nonce};
use async_trait::async_trait;
use fintra_core::TenantId;
use hkdf::Hkdf;
use sha2::Sha256;
use zeroize::Zeroizing;

use super::{DataKey, KeyProvider};
use crate::GuardError;

/// Tenant keys derived from master keys held in memory: `tenant key = HKDF-SHA256(master,
/// salt "fintra-guard/tenant-key/v1", info = tenant id)`. Each master key has a version;
/// [`LocalKeyProvider::with_version`] adds a newer one, which new data keys use and
/// [`Guard::rotate_tenant_key`](crate::Guard::rotate_tenant_key) rewraps older data keys with.
///
/// Load the master key from a file ([`LocalKeyProvider::from_file`]) or an environment variable
/// ([`LocalKeyProvider::from_env`]): 32 bytes written as 64 hex digits. Keep it out of the
/// repository and out of logs; this type's `Debug` prints versions only.
pub struct LocalKeyProvider {
    masters: BTreeMap<u32, Zeroizing<[u8; 32]>>,
    current: u32,
}

impl std::fmt::Debug for LocalKeyProvider {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LocalKeyProvider")
            .field("versions", &self.masters.keys().collect::<Vec<_>>())
            .field("current", &self.current)
            .finish()
    }
}

fn parse_hex(text: &str) -> Result<[u8; 32], GuardError> {
    let text = text.trim();
    let bad = || GuardError::KeyProvider("a master key is 64 hex digits (32 bytes)".to_owned());
    if text.len() != 64 || !text.is_ascii() {
        return Err(bad());
    }
    let mut out = [0u8; 32];
    for (i, byte) in out.iter_mut().enumerate() {
        *byte = u8::from_str_radix(&text[2 * i..2 * i + 2], 16).map_err(|_| bad())?;
    }
    Ok(out)
}

impl LocalKeyProvider {
    /// A provider with one master key, version 1.
    pub fn new(master: [u8; 32]) -> Self {
        let mut masters = BTreeMap::new();
        masters.insert(1, Zeroizing::new(master));
        Self { masters, current: 1 }
    }

    /// A provider with a random master key: for tests and demos only, since everything it
    /// protects is lost with the process.
    ///
    /// # Errors
    /// [`GuardError::Random`].
    pub fn ephemeral() -> Result<Self, GuardError> {
        Ok(Self::new(*DataKey::generate()?.as_bytes()))
    }

    /// The master key from the environment variable `name` (64 hex digits).
    ///
    /// # Errors
    /// [`GuardError::KeyProvider`] when it is missing or malformed.
    pub fn from_env(name: &str) -> Result<Self, GuardError> {
        let text = Zeroizing::new(std::env::var(name).map_err(|_| {
            GuardError::KeyProvider(format!("environment variable {name} is not set"))
        })?);
        Ok(Self::new(parse_hex(&text)?))
    }

    /// The master key from a file holding 64 hex digits.
    ///
    /// # Errors
    /// [`GuardError::KeyProvider`] when it cannot be read or is malformed.
    pub fn from_file(path: &std::path::Path) -> Result<Self, GuardError> {
        let text = Zeroizing::new(
            std::fs::read_to_string(path)
                .map_err(|e| GuardError::KeyProvider(format!("{}: {e}", path.display())))?,
        );
        Ok(Self::new(parse_hex(&text)?))
    }

    /// The same provider with master key `version` added, and made current when it is the
    /// newest (tenant-key rotation).
    #[must_use]
    pub fn with_version(mut self, version: u32, master: [u8; 32]) -> Self {
        self.masters.insert(version, Zeroizing::new(master));
        self.current = self.current.max(version);
        self
    }

    fn tenant_key(
        &self,
        tenant: &TenantId,
        version: u32,
    ) -> Result<Zeroizing<[u8; 32]>, GuardError> {
        let master = self
            .masters
            .get(&version)
            .ok_or_else(|| GuardError::KeyProvider(format!("no master key version {version}")))?;
        let hkdf = Hkdf::<Sha256>::new(Some(b"fintra-guard/tenant-key/v1"), master.as_slice());
        let mut key = Zeroizing::new([0u8; 32]);
        hkdf.expand(tenant.as_str().as_bytes(), key.as_mut_slice())
            .map_err(|_| GuardError::KeyProvider("HKDF output length".to_owned()))?;
        Ok(key)
    }
}

#[async_trait]
impl KeyProvider for LocalKeyProvider {
    async fn current_version(&self, _tenant: &TenantId) -> Result<u32, GuardError> {
        Ok(self.current)
    }

    async fn wrap(
        &self,
        tenant: &TenantId,
        version: u32,
        key: &DataKey,
        aad: &[u8],
    ) -> Result<Vec<u8>, GuardError> {
        let tenant_key = self.tenant_key(tenant, version)?;
        let cipher = Aes256Gcm::new_from_slice(tenant_key.as_slice())
            .map_err(|_| GuardError::KeyProvider("tenant key length".to_owned()))?;
        let mut nonce = [0u8; 12];
        getrandom::getrandom(&mut nonce).map_err(|e| GuardError::Random(e.to_string()))?;
        let sealed = cipher
            .encrypt(Nonce::from_slice(&nonce), Payload { msg: key.as_bytes(), aad })
            .map_err(|_| GuardError::KeyProvider("wrapping failed".to_owned()))?;
        let mut out = nonce.to_vec();
        out.extend_from_slice(&sealed);
        Ok(out)
    }

    async fn unwrap(
        &self,
        tenant: &TenantId,
        version: u32,
        wrapped: &[u8],
        aad: &[u8],
    ) -> Result<DataKey, GuardError> {
        let tenant_key = self.tenant_key(tenant, version)?;
        let cipher = Aes256Gcm::new_from_slice(tenant_key.as_slice())
            .map_err(|_| GuardError::KeyProvider("tenant key length".to_owned()))?;
        let (nonce, sealed) = wrapped
            .split_at_checked(12)
            .ok_or_else(|| GuardError::Tampered("wrapped key shorter than its nonce".to_owned()))?;
        let plain = Zeroizing::new(
            cipher.decrypt(Nonce::from_slice(nonce), Payload { msg: sealed, aad }).map_err(
                |_| GuardError::Tampered("wrapped key does not authenticate".to_owned()),
            )?,
        );
        let bytes: [u8; 32] = plain
            .as_slice()
            .try_into()
            .map_err(|_| GuardError::Tampered("wrapped key has the wrong length".to_owned()))?;
        Ok(DataKey::from_bytes(bytes))
    }
}
