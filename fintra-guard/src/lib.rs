//! # fintra-guard — keys, erasure, consent, guardrails, redaction
//!
//! Guard protects the most sensitive data a person has (spec §1.7, DESIGN §6):
//!
//! - **Envelope encryption by data subject** ([`GuardedStore`], [`GuardedSnapshots`]): every
//!   event of a subject (a profile) is sealed with that subject's data key (AES-256-GCM) before
//!   any store sees it; data keys are wrapped by tenant keys from a [`KeyProvider`]
//!   ([`LocalKeyProvider`] by default) and kept in a [`KeyStore`] (in memory, or PostgreSQL under
//!   row-level security with the `postgres` feature). Metadata stays plaintext. Every tier below
//!   — PostgreSQL, the warm store, Parquet archives, Kafka — holds ciphertext.
//! - **Crypto-shredding** ([`GuardedStore::shred`]): the subject's key is destroyed and a
//!   `SubjectShredded` event tells every projection to delete what it derived; the subject's
//!   events then read as [`fintra_core::ContentType::SHREDDED`], and folds go on.
//! - **Consent** ([`ConsentRegistry`]): grants with scopes, a validity window, revocation and the
//!   90-day reconfirmation rule, all as events, checked on every guarded read.
//! - **Guardrails** ([`Guardrails`]): the spec's ordered checks before an agent skill such as
//!   `transfer_money` is decided.
//! - **PII redaction** ([`redact::redact`]): reversible placeholders for what goes to a model or
//!   a log.
//!
//! `docs/guard.md` gives the threat model, what is and is not covered, key handling and the
//! measured numbers.
//!
//! ```
//! use std::sync::Arc;
//! use fintra_core::{EventStore, InMemoryEventStore, Position};
//! use fintra_guard::{Guard, GuardedStore, InMemoryKeyStore, LocalKeyProvider};
//! # tokio::runtime::Builder::new_current_thread().build()?.block_on(async {
//! let guard = Arc::new(Guard::new(
//!     Arc::new(LocalKeyProvider::ephemeral()?),
//!     Arc::new(InMemoryKeyStore::new()),
//! ));
//! let store = GuardedStore::new(InMemoryEventStore::new(), guard);
//! // Use `store` wherever an EventStore goes: Profile streams are sealed per person.
//! assert!(store.read_all(Position::START, 10).await?.is_empty());
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! # })?;
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

pub mod consent;
mod gate;
mod guard;
pub mod guardrails;
pub mod keys;
pub mod redact;
mod seal;
mod snapshots;
mod store;

pub use consent::{ConsentDenied, ConsentGrant, ConsentStatus, Scope};
pub use gate::{AccessError, Accessor, ConsentRegistry, consent_stream};
pub use guard::Guard;
pub use guardrails::{AgentSkill, GuardrailRefusal, Guardrails, TransferPolicy, TransferRequest};
pub use keys::{
    DataKey, InMemoryKeyStore, KeyCache, KeyProvider, KeyState, KeyStore, LocalKeyProvider,
    SubjectId, WrappedKey,
};
pub use seal::SEALED;
pub use snapshots::GuardedSnapshots;
pub use store::{
    GuardedStore, SHRED_CATEGORY, SUBJECT_HEADER, SUBJECT_SHREDDED, ShredReceipt, StreamSubjects,
    SubjectPolicy,
};

/// Why a Guard operation failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum GuardError {
    /// A subject id that is empty, too long or has whitespace.
    #[error("invalid subject id {0:?}")]
    InvalidSubject(String),
    /// The subject was erased: nothing can be sealed for it again.
    #[error("subject {0} was erased (shredded)")]
    Shredded(SubjectId),
    /// Ciphertext (a sealed payload or a wrapped key) that does not authenticate: tampered, or
    /// bound to another event, subject or tenant.
    #[error("tampered or misplaced ciphertext: {0}")]
    Tampered(String),
    /// Sealing failed.
    #[error("seal: {0}")]
    Seal(String),
    /// The key provider failed (unknown version, KMS error, malformed master key).
    #[error("key provider: {0}")]
    KeyProvider(String),
    /// The key store failed.
    #[error("key store: {0}")]
    KeyStore(String),
    /// The operating system gave no randomness.
    #[error("randomness: {0}")]
    Random(String),
}

#[cfg(doctest)]
#[doc = include_str!("../../docs/guard.md")]
struct GuardGuide;
