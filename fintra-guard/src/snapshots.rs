//! The `SnapshotStore` decorator: a subject's snapshots are sealed with its key too.

use std::sync::Arc;

use async_trait::async_trait;
use bytes::Bytes;
use fintra_core::{Error, Result, Snapshot, SnapshotStore, StreamId, TenantId};

use crate::guard::{Guard, Lookup};
use crate::seal::{Binding, is_sealed, key_id_of, open, seal};
use crate::store::{StreamSubjects, SubjectPolicy, guard_error};

/// A [`SnapshotStore`] that seals the state of every subject's snapshot before the inner store
/// sees it. A snapshot whose subject was shredded loads as no snapshot: the repository then
/// replays the events, which read as shredded. One that does not authenticate against its
/// stream is `Error::Corrupted`. Snapshots carry no tenant, so one decorator serves one tenant.
pub struct GuardedSnapshots<S> {
    inner: S,
    guard: Arc<Guard>,
    tenant: TenantId,
    policy: Arc<dyn SubjectPolicy>,
}

impl<S: std::fmt::Debug> std::fmt::Debug for GuardedSnapshots<S> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("GuardedSnapshots")
            .field("inner", &self.inner)
            .field("tenant", &self.tenant)
            .finish_non_exhaustive()
    }
}

impl<S: SnapshotStore> GuardedSnapshots<S> {
    /// `inner` guarded by `guard` for `tenant`, with the default [`StreamSubjects`] policy.
    pub fn new(inner: S, guard: Arc<Guard>, tenant: TenantId) -> Self {
        Self { inner, guard, tenant, policy: Arc::new(StreamSubjects::default()) }
    }

    /// The same store with another subject policy (use the event store's).
    #[must_use]
    pub fn with_policy(mut self, policy: Arc<dyn SubjectPolicy>) -> Self {
        self.policy = policy;
        self
    }
}

fn snapshot_binding(
    tenant: &TenantId,
    subject: &str,
    stream: &StreamId,
    version: &[u8],
    schema: &[u8],
) -> Binding {
    Binding::of(&[
        b"snapshot",
        tenant.as_str().as_bytes(),
        subject.as_bytes(),
        stream.as_str().as_bytes(),
        version,
        schema,
    ])
}

#[async_trait]
impl<S: SnapshotStore> SnapshotStore for GuardedSnapshots<S> {
    async fn save(&self, snapshot: &Snapshot) -> Result<()> {
        let Some(subject) = self.policy.stream_subject(&snapshot.stream_id) else {
            return self.inner.save(snapshot).await;
        };
        let now = snapshot.occurred_at;
        let key =
            self.guard.key_for_sealing(&self.tenant, &subject, now).await.map_err(guard_error)?;
        let (version, schema) =
            (snapshot.version.get().to_le_bytes(), snapshot.schema_version.to_le_bytes());
        let binding = snapshot_binding(
            &self.tenant,
            subject.as_str(),
            &snapshot.stream_id,
            &version,
            &schema,
        );
        let sealed =
            seal(&key, &binding, "application/json", &snapshot.state).map_err(guard_error)?;
        self.inner.save(&Snapshot { state: Bytes::from(sealed), ..snapshot.clone() }).await
    }

    async fn load(&self, stream: &StreamId) -> Result<Option<Snapshot>> {
        let Some(snapshot) = self.inner.load(stream).await? else { return Ok(None) };
        let Some(subject) = self.policy.stream_subject(stream) else { return Ok(Some(snapshot)) };
        if !is_sealed(&snapshot.state) {
            return Err(Error::corrupted(format!(
                "the snapshot of {stream} should be sealed and is not"
            )));
        }
        let key =
            match self.guard.key_for_opening(&self.tenant, &subject).await.map_err(guard_error)? {
                Lookup::Shredded => return Ok(None),
                Lookup::Key(key) if key_id_of(&snapshot.state).ok() == Some(key.key_id) => key,
                Lookup::Key(_) | Lookup::Missing => {
                    return Err(Error::corrupted(format!(
                        "the snapshot of {stream} is not under its subject's key"
                    )));
                }
            };
        let (version, schema) =
            (snapshot.version.get().to_le_bytes(), snapshot.schema_version.to_le_bytes());
        let binding = snapshot_binding(&self.tenant, subject.as_str(), stream, &version, &schema);
        let (_, state) = open(&key, &binding, &snapshot.state)
            .map_err(|e| Error::corrupted(format!("the snapshot of {stream}: {e}")))?;
        Ok(Some(Snapshot { state, ..snapshot }))
    }
}
