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

use aes_gcm::aead::{AeadInPlace, KeyInit};
use aes_gcm::{Aes256Gcm, Nonce, Tag};
use bytes::Bytes;
use hkdf::Hkdf;
use hmac::{Hmac, Mac};
use sha2::Sha256;
use zeroize::{Zeroize, Zeroizing};

use crate::GuardError;
use crate::keys::DataKey;

/// The content type of a sealed payload.
pub const SEALED: &str = "application/vnd.fintra.sealed";

const MAGIC: &[u8; 4] = b"fgs1";
const HEADER: usize = 4 + 16 + 12;
const TAG: usize = 16;

/// What a sealed payload is bound to: its associated data, built once from the binding's parts.
#[derive(Clone, Debug)]
pub(crate) struct Binding {
    aad: Vec<u8>,
}

impl Binding {
    /// The binding of `parts` (tenant, subject, stream, …), each length-prefixed, in order.
    pub(crate) fn of(parts: &[&[u8]]) -> Self {
        const LABEL: &[u8] = b"fintra-guard/seal/v1";
        let len = LABEL.len() + parts.iter().map(|p| 8 + p.len()).sum::<usize>();
        let mut aad = Vec::with_capacity(len);
        aad.extend_from_slice(LABEL);
        for part in parts {
            aad.extend_from_slice(&(part.len() as u64).to_le_bytes());
            aad.extend_from_slice(part);
        }
        Self { aad }
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

fn nonce_of(
    material: &KeyMaterial,
    aad: &[u8],
    content_type_len: u16,
    content_type: &str,
    payload: &[u8],
) -> [u8; 12] {
    let mut mac = material.nonce_mac.clone();
    mac.update(&(aad.len() as u64).to_le_bytes());
    mac.update(aad);
    // The inner bytes, without building them: content type length, content type, payload.
    mac.update(&content_type_len.to_le_bytes());
    mac.update(content_type.as_bytes());
    mac.update(payload);
    let tag = mac.finalize().into_bytes();
    let mut nonce = [0u8; 12];
    nonce.copy_from_slice(&tag[..12]);
    nonce
}

/// Seals `payload` (of `content_type`) under `key`, bound to `binding`. One buffer: the header
/// and the inner bytes are written into it, and the inner bytes are encrypted in place.
pub(crate) fn seal(
    key: &KeyMaterial,
    binding: &Binding,
    content_type: &str,
    payload: &[u8],
) -> Result<Vec<u8>, GuardError> {
    let content_type_len = u16::try_from(content_type.len())
        .map_err(|_| GuardError::Seal("content type longer than 65535 bytes".to_owned()))?;
    let aad = &binding.aad;
    let nonce = nonce_of(key, aad, content_type_len, content_type, payload);
    let mut out = Vec::with_capacity(HEADER + 2 + content_type.len() + payload.len() + TAG);
    out.extend_from_slice(MAGIC);
    out.extend_from_slice(&key.key_id);
    out.extend_from_slice(&nonce);
    out.extend_from_slice(&content_type_len.to_le_bytes());
    out.extend_from_slice(content_type.as_bytes());
    out.extend_from_slice(payload);
    let tag = key
        .cipher
        .encrypt_in_place_detached(Nonce::from_slice(&nonce), aad, &mut out[HEADER..])
        .map_err(|_| GuardError::Seal("encryption failed".to_owned()))?;
    out.extend_from_slice(&tag);
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

/// Opens what [`seal`] made with the same key and binding: the content type and payload. The
/// payload is a view into the one buffer the ciphertext was decrypted into.
pub(crate) fn open(
    key: &KeyMaterial,
    binding: &Binding,
    sealed: &[u8],
) -> Result<(String, Bytes), GuardError> {
    key_id_of(sealed)?;
    if sealed.len() < HEADER + TAG {
        return Err(GuardError::Tampered("sealed payload too short".to_owned()));
    }
    let nonce = &sealed[20..HEADER];
    let (ciphertext, tag) = sealed[HEADER..].split_at(sealed.len() - HEADER - TAG);
    let mut inner = ciphertext.to_vec();
    if key
        .cipher
        .decrypt_in_place_detached(
            Nonce::from_slice(nonce),
            &binding.aad,
            &mut inner,
            Tag::from_slice(tag),
        )
        .is_err()
    {
        // What did not authenticate is not plaintext, but clear it all the same.
        inner.zeroize();
        return Err(GuardError::Tampered("sealed payload does not authenticate".to_owned()));
    }
    let Some((len, rest)) = inner.split_first_chunk::<2>() else {
        return Err(GuardError::Tampered("sealed payload too short".to_owned()));
    };
    let len = usize::from(u16::from_le_bytes(*len));
    let content_type = rest
        .get(..len)
        .and_then(|c| std::str::from_utf8(c).ok())
        .ok_or_else(|| GuardError::Tampered("sealed content type unreadable".to_owned()))?
        .to_owned();
    Ok((content_type, Bytes::from(inner).slice(2 + len..)))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn binding(parts: &[&[u8]]) -> Binding {
        Binding::of(parts)
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
            Some(("application/json".to_owned(), Bytes::from_static(b"{\"n\":1}")))
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
