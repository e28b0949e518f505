//! Deleting archives and finishing what a crash interrupted: the part of [`ParquetArchive`]
//! that keeps the lake consistent for readers that glob it.

use object_store::{ObjectStoreExt, PutPayload};

use crate::{ArchiveError, ParquetArchive, Recovery, ignore_missing, layout};

impl ParquetArchive {
    /// Deletes an archive so that no reader ever sees a file its manifest does not list: a
    /// marker in `deleting/` first (the archive stops being listed), then its files, then its
    /// manifest, then the marker. A delete that stops half-way is finished by
    /// [`ParquetArchive::recover`]. Deleting a missing archive is not an error.
    ///
    /// # Errors
    /// Store errors.
    pub async fn delete(&self, archive_id: &str) -> Result<(), ArchiveError> {
        let marker = self.at(&layout::deleting_marker(archive_id))?;
        self.store.put(&marker, PutPayload::from(Vec::new())).await?;
        self.finish_delete(archive_id).await?;
        ignore_missing(self.store.delete(&marker).await)
    }

    /// Removes an archive's files and manifest (its deletion marker stays).
    async fn finish_delete(&self, archive_id: &str) -> Result<(), ArchiveError> {
        use futures::TryStreamExt;
        let manifest = match self.manifest(archive_id).await {
            Ok(manifest) => Some(manifest),
            Err(ArchiveError::NotFound(_)) => None,
            Err(e) => return Err(e),
        };
        let mut doomed = Vec::new();
        if let Some(manifest) = &manifest {
            for (n, file) in manifest.files.iter().enumerate() {
                doomed.push(self.file_path(manifest, file)?);
                doomed.push(self.at(&layout::staged_file(archive_id, n))?);
            }
        }
        // Format 1 keeps everything in the archive's folder.
        let folder = self.prefix.clone().join(archive_id);
        let legacy: Vec<object_store::ObjectMeta> =
            self.store.list(Some(&folder)).try_collect().await?;
        let legacy_manifest = self.path(archive_id, "manifest.json");
        doomed.extend(legacy.into_iter().map(|o| o.location).filter(|l| *l != legacy_manifest));
        for path in doomed {
            ignore_missing(self.store.delete(&path).await)?;
        }
        ignore_missing(self.store.delete(&self.at(&layout::manifest_file(archive_id))?).await)?;
        ignore_missing(self.store.delete(&legacy_manifest).await)
    }

    /// Finishes what a crash interrupted (call it when an archiver starts; one archiver per
    /// prefix at a time):
    /// - a committed archive's files still in `staging/` are moved into `data/`;
    /// - staged files of an archive with no manifest, older than `grace` (so that a write in
    ///   progress elsewhere is left alone), are removed;
    /// - deletes that stopped half-way are finished.
    ///
    /// # Errors
    /// Store errors; a manifest that does not parse.
    pub async fn recover(&self, grace: std::time::Duration) -> Result<Recovery, ArchiveError> {
        use futures::TryStreamExt;
        let mut report = Recovery::default();
        let now = fintra_core::Clock::now(&fintra_core::SystemClock);
        let cutoff = now - chrono::Duration::from_std(grace).unwrap_or(chrono::TimeDelta::MAX);
        let deleting: Vec<object_store::ObjectMeta> =
            self.store.list(Some(&self.at(layout::DELETING)?)).try_collect().await?;
        for marker in deleting {
            let Some(id) = marker.location.filename().map(str::to_owned) else { continue };
            self.finish_delete(&id).await?;
            ignore_missing(self.store.delete(&marker.location).await)?;
            report.deletions_finished += 1;
        }
        let staged: Vec<object_store::ObjectMeta> =
            self.store.list(Some(&self.at(layout::STAGING)?)).try_collect().await?;
        let mut by_archive: std::collections::BTreeMap<String, Vec<object_store::ObjectMeta>> =
            std::collections::BTreeMap::new();
        for object in staged {
            let parts: Vec<String> =
                object.location.parts().map(|p| p.as_ref().to_owned()).collect();
            if let Some(id) = parts.len().checked_sub(2).and_then(|i| parts.get(i)) {
                by_archive.entry(id.clone()).or_default().push(object);
            }
        }
        for (id, objects) in by_archive {
            match self.manifest(&id).await {
                Ok(manifest) => report.published += self.publish(&manifest).await?,
                Err(ArchiveError::NotFound(_)) => {
                    for object in objects.iter().filter(|o| o.last_modified < cutoff) {
                        ignore_missing(self.store.delete(&object.location).await)?;
                        report.discarded += 1;
                    }
                }
                Err(e) => return Err(e),
            }
        }
        Ok(report)
    }
}
