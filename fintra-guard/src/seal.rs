//! Sealing a payload with a subject's data key (AES-256-GCM).
//!
//! ```text
//! sealed = "fgs1" | key id (16) | nonce (12) | AES-256-GCM(data key, nonce, inner, aad)
//! inner  = content type length (u16 LE) | original content type | original payload
//! aad    = "fintra-guard/seal/v1" and the binding's parts, each length-prefixed
//! ```
//!
//! The binding (tenant, subject, stream, event id, event type, schema version — or, for a
//! snapshot, its stream, version and schema version) is authenticated: a sealed payload moved to
//! another event, stream, subject or tenant does not open. The nonce is synthetic: HMAC-SHA256,
//! under a key derived from the data key, of the aad and the inner bytes. Sealing the same event
//! twice gives the same bytes (so a retried append is recognised as the same event), and two
//! different payloads never share a nonce under one key.

use aes_gcm::aead::{Aead, KeyInit, Payload};
use aes_gcm::{Aes256Gcm, Nonce};
use hkdf::Hkdf;
use hmac::{Hmac, Mac};
use sha2::Sha256;
use zeroize::Zeroizing;

use crate::GuardError;
use crate::keys::DataKey;

/// The content type of a sealed payload.
pub const SEALED: &str = "application/vnd.fintra.sealed";

const MAGIC: &[u8; 4] = b"fgs1";
const HEADER: usize = 4 + 16 + 12;

/// What a sealed payload is bound to (its associated data).
#[derive(Clone, Debug)]
pub(crate) struct Binding<'a> {
    /// Length-prefixed parts, in order.
    pub(crate) parts: Vec<&'a [u8]>,
}

impl Binding<'_> {
    fn aad(&self) -> Vec<u8> {
        let mut aad = b"fintra-guard/seal/v1".to_vec();
        for part in &self.parts {
            aad.extend_from_slice(&(part.len() as u64).to_le_bytes());
            aad.extend_from_slice(part);
        }
        aad
    }
}

/// A data key made ready to use: its AES-256-GCM key schedule, the keyed HMAC of its nonce key,
/// and its id. Built once per unwrapped key (the data key itself is dropped, and zeroized, right
/// after); the cipher state zeroizes on drop.
pub(crate) struct KeyMaterial {
    pub(crate) key_id: [u8; 16],
    cipher: Aes256Gcm,
    nonce_mac: Hmac<Sha256>,
}

impl KeyMaterial {
    /// The material of `key`.
    pub(crate) fn new(key: &DataKey, key_id: [u8; 16]) -> Result<Self, GuardError> {
        let hkdf = Hkdf::<Sha256>::new(Some(b"fintra-guard/nonce/v1"), key.as_bytes());
        let mut nonce_key = Zeroizing::new([0u8; 32]);
        hkdf.expand(b"synthetic nonce", nonce_key.as_mut_slice())
            .map_err(|_| GuardError::KeyProvider("HKDF output length".to_owned()))?;
        let nonce_mac = <Hmac<Sha256> as Mac>::new_from_slice(nonce_key.as_slice())
            .map_err(|_| GuardError::KeyProvider("HMAC key length".to_owned()))?;
        let cipher = Aes256Gcm::new_from_slice(key.as_bytes())
            .map_err(|_| GuardError::Seal("data key length".to_owned()))?;
        Ok(Self { key_id, cipher, nonce_mac })
    }
}

fn nonce_of(material: &KeyMaterial, aad: &[u8], inner: &[u8]) -> [u8; 12] {
    let mut mac = material.nonce_mac.clone();
    mac.update(&(aad.len() as u64).to_le_bytes());
    mac.update(aad);
    mac.update(inner);
    let tag = mac.finalize().into_bytes();
    let mut nonce = [0u8; 12];
    nonce.copy_from_slice(&tag[..12]);
    nonce
}

/// Seals `payload` (of `content_type`) under `key`, bound to `binding`.
pub(crate) fn seal(
    key: &KeyMaterial,
    binding: &Binding<'_>,
    content_type: &str,
    payload: &[u8],
) -> Result<Vec<u8>, GuardError> {
    let content_type_len = u16::try_from(content_type.len())
        .map_err(|_| GuardError::Seal("content type longer than 65535 bytes".to_owned()))?;
    let mut inner = Zeroizing::new(Vec::with_capacity(2 + content_type.len() + payload.len()));
    inner.extend_from_slice(&content_type_len.to_le_bytes());
    inner.extend_from_slice(content_type.as_bytes());
    inner.extend_from_slice(payload);
    let aad = binding.aad();
    let nonce = nonce_of(key, &aad, &inner);
    let sealed = key
        .cipher
        .encrypt(Nonce::from_slice(&nonce), Payload { msg: &inner, aad: &aad })
        .map_err(|_| GuardError::Seal("encryption failed".to_owned()))?;
    let mut out = Vec::with_capacity(HEADER + sealed.len());
    out.extend_from_slice(MAGIC);
    out.extend_from_slice(&key.key_id);
    out.extend_from_slice(&nonce);
    out.extend_from_slice(&sealed);
    Ok(out)
}

/// True when `bytes` look like a sealed payload (its magic).
pub(crate) fn is_sealed(bytes: &[u8]) -> bool {
    bytes.starts_with(MAGIC)
}

/// The id of the key that sealed `sealed`.
pub(crate) fn key_id_of(sealed: &[u8]) -> Result<[u8; 16], GuardError> {
    if sealed.len() < HEADER || !is_sealed(sealed) {
        return Err(GuardError::Tampered("not a sealed payload".to_owned()));
    }
    let mut id = [0u8; 16];
    id.copy_from_slice(&sealed[4..20]);
    Ok(id)
}

/// Opens what [`seal`] made with the same key and binding: the content type and payload.
pub(crate) fn open(
    key: &KeyMaterial,
    binding: &Binding<'_>,
    sealed: &[u8],
) -> Result<(String, Vec<u8>), GuardError> {
    key_id_of(sealed)?;
    let (nonce, ciphertext) = (&sealed[20..HEADER], &sealed[HEADER..]);
    let inner = Zeroizing::new(
        key.cipher
            .decrypt(Nonce::from_slice(nonce), Payload { msg: ciphertext, aad: &binding.aad() })
            .map_err(|_| GuardError::Tampered("sealed payload does not authenticate".to_owned()))?,
    );
    let (len, rest) = inner
        .split_first_chunk::<2>()
        .ok_or_else(|| GuardError::Tampered("sealed payload too short".to_owned()))?;
    let len = usize::from(u16::from_le_bytes(*len));
    let content_type = rest
        .get(..len)
        .and_then(|c| std::str::from_utf8(c).ok())
        .ok_or_else(|| GuardError::Tampered("sealed content type unreadable".to_owned()))?;
    Ok((content_type.to_owned(), rest[len..].to_vec()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn binding<'a>(parts: &[&'a [u8]]) -> Binding<'a> {
        Binding { parts: parts.to_vec() }
    }

    #[test]
    fn sealing_is_deterministic_bound_and_authenticated() {
        let Ok(key) = KeyMaterial::new(&DataKey::from_bytes([7; 32]), [1; 16]) else {
            panic!("key material")
        };
        let here = binding(&[b"tenant", b"subject", b"event-1"]);
        let a = seal(&key, &here, "application/json", b"{\"n\":1}").unwrap_or_default();
        let b = seal(&key, &here, "application/json", b"{\"n\":1}").unwrap_or_default();
        assert_eq!(a, b, "the same event seals to the same bytes");
        let other = seal(&key, &here, "application/json", b"{\"n\":2}").unwrap_or_default();
        assert_ne!(a[20..32], other[20..32], "different payloads never share a nonce");
        assert_eq!(
            open(&key, &here, &a).ok(),
            Some(("application/json".to_owned(), b"{\"n\":1}".to_vec()))
        );
        let elsewhere = binding(&[b"tenant", b"subject", b"event-2"]);
        assert!(matches!(open(&key, &elsewhere, &a), Err(GuardError::Tampered(_))));
        let mut flipped = a.clone();
        let last = flipped.len() - 1;
        flipped[last] ^= 1;
        assert!(matches!(open(&key, &here, &flipped), Err(GuardError::Tampered(_))));
        assert!(matches!(open(&key, &here, &a[..10]), Err(GuardError::Tampered(_))));
    }
}
