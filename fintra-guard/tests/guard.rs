//! Envelope encryption, shredding and rotation on the in-memory store; consent and guardrails.

#![allow(clippy::unwrap_used, reason = "test helpers fail the test on a setup error")]

use std::sync::Arc;

use bytes::Bytes;
use chrono::{Duration, TimeZone, Utc};
use fintra_core::testing::conformance::event;
use fintra_core::{
    Asset, Clock, Error, EventMetadata, EventStore, ExpectedVersion, InMemoryEventStore,
    InMemorySnapshotStore, ManualClock, Money, NewEvent, Position, ReadStreamOptions, Snapshot,
    SnapshotStore, StreamId, StreamVersion, TenantId,
};
use fintra_guard::{
    Accessor, AgentSkill, ConsentRegistry, ConsentStatus, Guard, GuardedSnapshots, GuardedStore,
    GuardrailRefusal, Guardrails, InMemoryKeyStore, KeyState, KeyStore, LocalKeyProvider, SEALED,
    Scope, SubjectId, TransferPolicy, TransferRequest,
};

const CANARY: &str = "CANARY-7f3a9c-Ada-Lovelace";

fn tenant() -> TenantId {
    TenantId::new("acme-bank").unwrap()
}

fn guard() -> Arc<Guard> {
    Arc::new(Guard::new(
        Arc::new(LocalKeyProvider::new([9; 32])),
        Arc::new(InMemoryKeyStore::new()),
    ))
}

fn profile(n: u128) -> StreamId {
    StreamId::for_aggregate("Profile", uuid::Uuid::from_u128(n)).unwrap()
}

/// Event `n` of a profile, carrying the canary.
fn personal(n: u64) -> NewEvent {
    let mut e = event(n);
    e.metadata.tenant_id = tenant();
    e.payload = Bytes::from(format!("{{\"n\":{n},\"name\":\"{CANARY}-{n}\"}}"));
    e
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle)
}

#[tokio::test]
async fn subject_payloads_are_sealed_below_and_plain_above_and_retries_are_idempotent() {
    let store = GuardedStore::new(InMemoryEventStore::new(), guard());
    let batch: Vec<NewEvent> = (1..=3).map(personal).collect();
    let first = store.append(&profile(1), ExpectedVersion::NoStream, &batch).await.unwrap();
    let retry = store.append(&profile(1), ExpectedVersion::NoStream, &batch).await.unwrap();
    assert!(retry.replayed, "sealing is deterministic, so a retry is the same append");
    assert_eq!(retry.last_position, first.last_position);
    // Below: ciphertext only.
    let raw = store.inner().read_all(Position::START, 10).await.unwrap();
    for e in &raw {
        assert_eq!(e.content_type.as_str(), SEALED);
        assert!(!contains(&e.payload, CANARY.as_bytes()));
        assert_eq!(e.metadata.headers["fintra-subject"], profile(1).as_str());
    }
    // Above: exactly what was appended.
    let read = store.read_stream(&profile(1), ReadStreamOptions::from_start()).await.unwrap();
    for (got, sent) in read.iter().zip(&batch) {
        assert_eq!(
            (got.payload.clone(), got.content_type.clone()),
            (sent.payload.clone(), sent.content_type.clone())
        );
    }
    // A stream outside the policy stays plaintext.
    let ledger = StreamId::new("account-1").unwrap();
    store.append(&ledger, ExpectedVersion::NoStream, &[personal(9)]).await.unwrap();
    let plain = store.inner().read_stream(&ledger, ReadStreamOptions::from_start()).await.unwrap();
    assert!(contains(&plain[0].payload, CANARY.as_bytes()));
}

#[tokio::test]
async fn shredding_erases_the_subject_and_leaves_others_and_folds_intact() {
    let store = GuardedStore::new(InMemoryEventStore::new(), guard());
    let (s, t) = (profile(1), profile(2));
    store.append(&s, ExpectedVersion::NoStream, &[personal(1), personal(2)]).await.unwrap();
    store.append(&t, ExpectedVersion::NoStream, &[personal(3)]).await.unwrap();
    let subject = SubjectId::new(s.as_str()).unwrap();
    let meta = EventMetadata { tenant_id: tenant(), ..EventMetadata::default() };
    let receipt = store.shred(&subject, &meta).await.unwrap();
    assert!(receipt.erased_now);
    let again = store.shred(&subject, &meta).await.unwrap();
    assert!(!again.erased_now);
    assert_eq!(again.position, receipt.position, "shredding twice appends nothing new");

    let shredded = store.read_stream(&s, ReadStreamOptions::from_start()).await.unwrap();
    assert_eq!(shredded.len(), 2, "the events stay, in place");
    assert!(shredded.iter().all(|e| e.is_shredded() && e.payload.is_empty()));
    let other = store.read_stream(&t, ReadStreamOptions::from_start()).await.unwrap();
    assert!(contains(&other[0].payload, CANARY.as_bytes()), "T stays readable");
    // The log says what happened, in plaintext, for every projection to act on.
    let log = store.read_all(Position::START, 100).await.unwrap();
    let shred_event = log.iter().find(|e| e.event_type == "SubjectShredded").unwrap();
    assert!(contains(&shred_event.payload, s.as_str().as_bytes()));
    // Nothing can be sealed for S again.
    let refused = store.append(&s, ExpectedVersion::Any, &[personal(4)]).await;
    assert!(matches!(refused, Err(Error::InvalidInput { .. })), "{refused:?}");
    assert!(matches!(
        store.guard().key_store().get(&tenant(), &subject).await.unwrap(),
        Some(KeyState::Shredded { .. })
    ));
}

/// A store that hands the decorator altered ciphertext: its payload swapped with another
/// event's, or one bit flipped.
struct Tamper {
    inner: InMemoryEventStore,
    swap: bool,
}

#[async_trait::async_trait]
impl EventStore for Tamper {
    async fn append(
        &self,
        stream: &StreamId,
        expected: ExpectedVersion,
        events: &[NewEvent],
    ) -> fintra_core::Result<fintra_core::AppendResult> {
        self.inner.append(stream, expected, events).await
    }
    async fn read_stream(
        &self,
        stream: &StreamId,
        options: ReadStreamOptions,
    ) -> fintra_core::Result<Vec<fintra_core::RecordedEvent>> {
        self.inner.read_stream(stream, options).await
    }
    async fn read_all(
        &self,
        after: Position,
        limit: usize,
    ) -> fintra_core::Result<Vec<fintra_core::RecordedEvent>> {
        let mut events = self.inner.read_all(after, limit).await?;
        if self.swap && events.len() >= 2 {
            let last = events.len() - 1;
            let moved = events[last].payload.clone();
            events[0].payload = moved;
        } else if let Some(first) = events.first_mut() {
            let mut bytes = first.payload.to_vec();
            let at = bytes.len() - 1;
            bytes[at] ^= 1;
            first.payload = Bytes::from(bytes);
        }
        Ok(events)
    }
    async fn stream_version(&self, stream: &StreamId) -> fintra_core::Result<StreamVersion> {
        self.inner.stream_version(stream).await
    }
}

mod properties {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        #![proptest_config(ProptestConfig { cases: 48, ..ProptestConfig::default() })]

        /// Whatever the subjects and payloads, the decorator returns each event's own plaintext;
        /// ciphertext moved to another event or altered is `Corrupted`, never someone's plaintext.
        #[test]
        fn the_decorator_never_returns_another_subjects_plaintext(
            payloads in proptest::collection::vec((0u128..4, proptest::collection::vec(any::<u8>(), 0..64)), 2..12),
            swap in any::<bool>(),
        ) {
            let rt = tokio::runtime::Builder::new_current_thread().build().unwrap();
            rt.block_on(async {
                let guard = guard();
                let honest = GuardedStore::new(InMemoryEventStore::new(), guard.clone());
                let mut sent = std::collections::HashMap::new();
                for (k, (subject, bytes)) in payloads.iter().enumerate() {
                    let mut e = personal(u64::try_from(k).unwrap() + 1);
                    e.payload = Bytes::from(bytes.clone());
                    sent.insert(e.event_id, bytes.clone());
                    honest.append(&profile(*subject + 1), ExpectedVersion::Any, &[e]).await.unwrap();
                }
                for e in honest.read_all(Position::START, 100).await.unwrap() {
                    prop_assert_eq!(&e.payload.to_vec(), &sent[&e.event_id]);
                }
                // The same ciphertext, tampered with on the way up.
                let raw = honest.inner().read_all(Position::START, 100).await.unwrap();
                let copy = InMemoryEventStore::new();
                for e in &raw {
                    let new = NewEvent { event_id: e.event_id, event_type: e.event_type.clone(), schema_version: e.schema_version, occurred_at: e.occurred_at, metadata: e.metadata.clone(), content_type: e.content_type.clone(), payload: e.payload.clone() };
                    copy.append(&e.stream_id, ExpectedVersion::Any, &[new]).await.unwrap();
                }
                let tampered = GuardedStore::new(Tamper { inner: copy, swap }, guard);
                match tampered.read_all(Position::START, 100).await {
                    Err(Error::Corrupted { .. }) => {}
                    Ok(events) => {
                        // Swapping two identical ciphertexts (same subject, same event) cannot
                        // happen: ids differ, so any Ok must still be each event's own bytes.
                        for e in events {
                            prop_assert_eq!(&e.payload.to_vec(), &sent[&e.event_id]);
                        }
                    }
                    Err(other) => prop_assert!(false, "unexpected error {other:?}"),
                }
                Ok(())
            })?;
        }
    }
}

#[tokio::test]
async fn snapshots_are_sealed_and_vanish_with_the_subject() {
    let guard = guard();
    let store = GuardedStore::new(InMemoryEventStore::new(), guard.clone());
    let snapshots = GuardedSnapshots::new(InMemorySnapshotStore::new(), guard, tenant());
    let stream = profile(5);
    store.append(&stream, ExpectedVersion::NoStream, &[personal(1)]).await.unwrap();
    let snapshot = Snapshot {
        stream_id: stream.clone(),
        version: StreamVersion(1),
        schema_version: 1,
        occurred_at: Utc.with_ymd_and_hms(2025, 1, 1, 0, 0, 0).unwrap(),
        state: Bytes::from(format!("{{\"name\":\"{CANARY}\"}}")),
    };
    snapshots.save(&snapshot).await.unwrap();
    assert_eq!(snapshots.load(&stream).await.unwrap(), Some(snapshot.clone()));
    let meta = EventMetadata { tenant_id: tenant(), ..EventMetadata::default() };
    store.shred(&SubjectId::new(stream.as_str()).unwrap(), &meta).await.unwrap();
    assert_eq!(snapshots.load(&stream).await.unwrap(), None, "a shredded subject has no snapshot");
}

#[tokio::test]
async fn tenant_key_rotation_rewraps_keys_without_touching_events() {
    let keys = Arc::new(InMemoryKeyStore::new());
    let v1 = Arc::new(Guard::new(Arc::new(LocalKeyProvider::new([1; 32])), keys.clone()));
    let store = GuardedStore::new(InMemoryEventStore::new(), v1);
    for n in 1..=5u128 {
        store
            .append(&profile(n), ExpectedVersion::NoStream, &[personal(u64::try_from(n).unwrap())])
            .await
            .unwrap();
    }
    let before = store.inner().read_all(Position::START, 100).await.unwrap();
    let v2 = Arc::new(Guard::new(
        Arc::new(LocalKeyProvider::new([1; 32]).with_version(2, [2; 32])),
        keys.clone(),
    ));
    assert_eq!(v2.rotate_tenant_key(&tenant()).await.unwrap(), 5);
    assert_eq!(v2.rotate_tenant_key(&tenant()).await.unwrap(), 0, "nothing left on version 1");
    assert!(keys.wrapped_before(&tenant(), 2, 10).await.unwrap().is_empty());
    let rotated = GuardedStore::new(store.inner().clone(), v2);
    assert_eq!(
        rotated.inner().read_all(Position::START, 100).await.unwrap(),
        before,
        "events untouched"
    );
    let read = rotated.read_all(Position::START, 100).await.unwrap();
    assert!(read.iter().all(|e| contains(&e.payload, CANARY.as_bytes())));
    // The old master key alone no longer opens anything.
    let old_only = GuardedStore::new(
        store.inner().clone(),
        Arc::new(Guard::new(Arc::new(LocalKeyProvider::new([1; 32])), keys)),
    );
    assert!(old_only.read_all(Position::START, 100).await.is_err());
}

fn accessor() -> Accessor {
    Accessor { id: "budget-app".into(), tenant: tenant() }
}

#[tokio::test]
async fn consent_expiry_and_revocation_take_effect_on_the_next_call() {
    let clock = Arc::new(ManualClock::new(Utc.with_ymd_and_hms(2023, 10, 1, 9, 0, 0).unwrap()));
    let registry = ConsentRegistry::with_clock(InMemoryEventStore::new(), clock.clone());
    let meta = EventMetadata { tenant_id: tenant(), ..EventMetadata::default() };
    let (from, until) = (clock.now(), Utc.with_ymd_and_hms(2024, 1, 1, 0, 0, 0).unwrap());
    let scopes = [Scope::ReadAccounts, Scope::ReadTransactions];
    registry.grant(&accessor(), "usr_ada", &scopes, from, until, &meta).await.unwrap();
    registry.require(&accessor(), "usr_ada", Scope::ReadTransactions).await.unwrap();
    let missing = registry.require(&accessor(), "usr_ada", Scope::ReadForecast).await.unwrap_err();
    assert!(
        matches!(&missing, fintra_guard::AccessError::Denied(d) if d.scope == Scope::ReadForecast && d.status == ConsentStatus::Active),
        "{missing}"
    );
    // 90 days without reconfirmation: expired on the next call, live again once reconfirmed.
    clock.advance(Duration::days(91));
    let stale = registry.require(&accessor(), "usr_ada", Scope::ReadAccounts).await.unwrap_err();
    assert!(
        matches!(&stale, fintra_guard::AccessError::Denied(d) if d.status == ConsentStatus::Expired)
    );
    registry.reconfirm(&accessor(), "usr_ada", &meta).await.unwrap();
    registry.require(&accessor(), "usr_ada", Scope::ReadAccounts).await.unwrap();
    // Revocation: refused on the very next call.
    registry.revoke(&accessor(), "usr_ada", "user withdrew", &meta).await.unwrap();
    let revoked = registry.require(&accessor(), "usr_ada", Scope::ReadAccounts).await.unwrap_err();
    assert!(
        matches!(&revoked, fintra_guard::AccessError::Denied(d) if d.status == ConsentStatus::Revoked)
    );
    // Past expires_at.
    registry
        .grant(&accessor(), "usr_bob", &scopes, clock.now(), clock.now() + Duration::days(1), &meta)
        .await
        .unwrap();
    clock.advance(Duration::days(2));
    let expired = registry.require(&accessor(), "usr_bob", Scope::ReadAccounts).await.unwrap_err();
    assert!(
        matches!(&expired, fintra_guard::AccessError::Denied(d) if d.status == ConsentStatus::Expired)
    );
    let nobody = Accessor { id: "other-app".into(), tenant: tenant() };
    let none = registry.require(&nobody, "usr_ada", Scope::ReadAccounts).await.unwrap_err();
    assert!(
        matches!(&none, fintra_guard::AccessError::Denied(d) if d.status == ConsentStatus::NotGranted)
    );
}

#[tokio::test]
async fn ai_context_is_scoped_to_the_accessors_tenant_without_global_profile() {
    let clock = Arc::new(ManualClock::new(Utc.with_ymd_and_hms(2025, 1, 1, 0, 0, 0).unwrap()));
    let registry = ConsentRegistry::with_clock(InMemoryEventStore::new(), clock.clone());
    let meta = EventMetadata { tenant_id: tenant(), ..EventMetadata::default() };
    let other = TenantId::new("other-bank").unwrap();
    let linked =
        vec![(tenant(), "usr_ada".to_owned()), (other.clone(), "usr_ada_elsewhere".to_owned())];
    let until = clock.now() + Duration::days(30);
    let agent = Accessor { id: "agent:advisor".into(), tenant: tenant() };
    registry
        .grant(&agent, "usr_ada", &[Scope::ReadAccounts], clock.now(), until, &meta)
        .await
        .unwrap();
    assert_eq!(
        registry.context_profiles(&agent, "usr_ada", &linked).await.unwrap(),
        linked[..1].to_vec()
    );
    let global = Accessor { id: "agent:global".into(), tenant: tenant() };
    registry
        .grant(
            &global,
            "usr_ada",
            &[Scope::ReadAccounts, Scope::ReadGlobalProfile],
            clock.now(),
            until,
            &meta,
        )
        .await
        .unwrap();
    assert_eq!(registry.context_profiles(&global, "usr_ada", &linked).await.unwrap(), linked);
}

fn usd(major: i128) -> Money {
    Money::new(major * 100, Asset::USD)
}

fn transfer_guardrails() -> (Guardrails, fintra_guard::ConsentGrant, TransferRequest) {
    let now = Utc.with_ymd_and_hms(2025, 3, 1, 12, 0, 0).unwrap();
    let policy = TransferPolicy {
        max_per_transfer: usd(500),
        max_per_day: usd(800),
        allowed_payees: Some(["landlord".to_owned()].into()),
    };
    let rails =
        Guardrails::new().enable(&AgentSkill::transfer_money()).with_policy("usr_ada", policy);
    let grant = fintra_guard::ConsentGrant {
        consent_id: "c1".into(),
        profile_id: "usr_ada".into(),
        tenant_id: "acme-bank".into(),
        accessor: "agent:advisor".into(),
        scopes: vec![Scope::ExecuteTransactions],
        valid_from: Some(now - Duration::days(1)),
        expires_at: Some(now + Duration::days(60)),
        confirmed_at: Some(now - Duration::days(1)),
        revoked_at: None,
    };
    (rails, grant, TransferRequest { amount: usd(300), payee: "landlord".into(), at: now })
}

#[test]
fn the_spec_example_a_million_dollars_is_refused_under_max_transfer_500() {
    let (rails, grant, mut request) = transfer_guardrails();
    request.amount = usd(1_000_000);
    let refusal = rails
        .authorize_transfer(&AgentSkill::transfer_money(), "usr_ada", &grant, &request)
        .unwrap_err();
    assert!(matches!(refusal, GuardrailRefusal::AboveTransferLimit { .. }), "{refusal}");
    assert_eq!(refusal.to_string(), "1000000.00 USD is above the limit of 500.00 USD per transfer");
}

#[test]
fn each_guardrail_check_refuses_in_order() {
    let skill = AgentSkill::transfer_money();
    let (rails, grant, request) = transfer_guardrails();
    rails.authorize_transfer(&skill, "usr_ada", &grant, &request).unwrap();
    // 1. Skill not enabled for the tenant (checked before consent: even a bad grant says this).
    let off = Guardrails::new();
    let mut no_grant = grant.clone();
    no_grant.scopes.clear();
    assert!(matches!(
        off.authorize_transfer(&skill, "usr_ada", &no_grant, &request),
        Err(GuardrailRefusal::SkillDisabled { .. })
    ));
    // 2. Consent without EXECUTE_TRANSACTIONS, or revoked.
    assert!(matches!(
        rails.authorize_transfer(&skill, "usr_ada", &no_grant, &request),
        Err(GuardrailRefusal::NoConsent { .. })
    ));
    let mut revoked = grant.clone();
    revoked.revoked_at = Some(request.at - Duration::hours(1));
    assert!(matches!(
        rails.authorize_transfer(&skill, "usr_ada", &revoked, &request),
        Err(GuardrailRefusal::NoConsent { .. })
    ));
    // 3. Parameters: per transfer, per day, payee, currency; no policy at all.
    let mut big = request.clone();
    big.amount = usd(501);
    assert!(matches!(
        rails.authorize_transfer(&skill, "usr_ada", &grant, &big),
        Err(GuardrailRefusal::AboveTransferLimit { .. })
    ));
    let mut spent = rails.clone();
    spent.record_transfer("usr_ada", &request);
    spent.authorize_transfer(&skill, "usr_ada", &grant, &request).unwrap(); // 300 + 300 ≤ 800
    spent.record_transfer("usr_ada", &request);
    assert!(
        matches!(
            spent.authorize_transfer(&skill, "usr_ada", &grant, &request),
            Err(GuardrailRefusal::AboveDailyLimit { .. })
        ),
        "600 + 300 > 800"
    );
    let mut stranger = request.clone();
    stranger.payee = "crypto-exchange".into();
    assert!(matches!(
        rails.authorize_transfer(&skill, "usr_ada", &grant, &stranger),
        Err(GuardrailRefusal::PayeeNotAllowed { .. })
    ));
    let mut euros = request.clone();
    euros.amount = Money::new(100, Asset::EUR);
    assert!(matches!(
        rails.authorize_transfer(&skill, "usr_ada", &grant, &euros),
        Err(GuardrailRefusal::CurrencyMismatch { .. })
    ));
    assert!(matches!(
        rails.authorize_transfer(&skill, "usr_bob", &grant, &request),
        Err(GuardrailRefusal::AboveTransferLimit { .. })
    ));
}
