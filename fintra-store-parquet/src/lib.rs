//! # fintra-store-parquet — the cold tier
//!
//! [`ParquetArchive`] writes ranges of the global log as Parquet files (zstd, row groups sized
//! for scans) on any `object_store` backend (the local file system; S3-compatible stores
//! through the same trait), each archive with a JSON manifest (position and time range, row
//! count, per-file sizes and a content hash); it lists archives, reads them back as events
//! (optionally filtered by time or stream), in whole or in bounded batches ([`ParquetArchive::scan`]),
//! and verifies an archive against its manifest.
//!
//! The files form a lake any engine can glob: `data/tenant=<t>/date=<d>/*.parquet`, Hive-style
//! partitions, where a file appears only after the manifest that lists it ([`layout`]), so a
//! crashed write or a delete in progress never shows rows no manifest holds.
//!
//! The Arrow schema is [`archive_schema`]; `docs/cold-tier.md` documents it column by column.

mod arrow_rows;
mod housekeeping;
pub mod layout;
mod scan;

use std::sync::Arc;

use chrono::{DateTime, Utc};
use fintra_core::{EventStore, EventStoreExt, Position, RecordedEvent, StreamId};
use object_store::path::Path;
use object_store::{ObjectStore, ObjectStoreExt, PutPayload};
use parquet::arrow::ArrowWriter;
use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
use parquet::basic::{Compression, ZstdLevel};
use parquet::file::properties::WriterProperties;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

pub use arrow_rows::{archive_schema, content_hash};
use arrow_rows::{from_batch, hex, to_batch};
pub use scan::{SCAN_BATCH_ROWS, Scanned};

/// Rows per Parquet file.
pub const ROWS_PER_FILE: usize = 1_000_000;
/// Rows per row group (a scan unit).
pub const ROWS_PER_ROW_GROUP: usize = 128 * 1024;
/// The archive format version written in manifests: 2 is the partitioned lake layout
/// ([`layout`]); version 1 archives (`<archive id>/part-*.parquet` beside `manifest.json`) are
/// still listed, read, verified and deleted.
pub const FORMAT_VERSION: u32 = 2;

/// Why an archive operation failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ArchiveError {
    /// The object store failed.
    #[error("object store: {0}")]
    Store(#[from] object_store::Error),
    /// Writing or reading Parquet failed.
    #[error("parquet: {0}")]
    Parquet(#[from] parquet::errors::ParquetError),
    /// Building or reading an Arrow batch failed.
    #[error("arrow: {0}")]
    Arrow(#[from] arrow::error::ArrowError),
    /// A manifest could not be encoded or decoded.
    #[error("manifest: {0}")]
    Manifest(#[from] serde_json::Error),
    /// The local file system failed.
    #[error("{path}: {source}")]
    Io {
        /// The path involved.
        path: std::path::PathBuf,
        /// The error.
        #[source]
        source: std::io::Error,
    },
    /// The event store failed.
    #[error(transparent)]
    Log(#[from] fintra_core::Error),
    /// An archive does not match its manifest, or a row does not decode.
    #[error("archive {archive}: {reason}")]
    Corrupted {
        /// The archive.
        archive: String,
        /// What is wrong.
        reason: String,
    },
    /// No such archive.
    #[error("no archive {0}")]
    NotFound(String),
    /// Nothing to archive in the range.
    #[error("the range holds no events")]
    Empty,
}

/// One Parquet file of an archive.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ArchiveFile {
    /// Path relative to the archive prefix (format 2: `data/tenant=…/date=…/…parquet`); relative
    /// to the archive's folder in format 1.
    pub path: String,
    /// The tenant of every row in the file (format 2).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tenant: Option<String>,
    /// The UTC date of every row's `recorded_at` (format 2).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub date: Option<chrono::NaiveDate>,
    /// Rows.
    pub rows: u64,
    /// Size in bytes.
    pub bytes: u64,
    /// SHA-256 of the file's bytes, hex.
    pub sha256: String,
}

/// What an archive holds, stored as `manifests/<archive id>.json` (format 1: `manifest.json` in
/// the archive's folder).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Manifest {
    /// The archive's id (`positions-<first>-<last>`).
    pub archive_id: String,
    /// [`FORMAT_VERSION`].
    pub format_version: u32,
    /// First position archived.
    pub first_position: u64,
    /// Last position archived.
    pub last_position: u64,
    /// Earliest `recorded_at`.
    pub first_recorded_at: DateTime<Utc>,
    /// Latest `recorded_at`.
    pub last_recorded_at: DateTime<Utc>,
    /// Rows in all files.
    pub rows: u64,
    /// SHA-256 over every event's canonical bytes in log order, hex (independent of the file
    /// layout: equal for the same events however they are split).
    pub content_hash: String,
    /// The files.
    pub files: Vec<ArchiveFile>,
}

/// What [`ParquetArchive::recover`] finished.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Recovery {
    /// Staged files of committed archives, moved into `data/`.
    pub published: usize,
    /// Staged files no manifest lists (a write that stopped before committing), removed.
    pub discarded: usize,
    /// Deletes that had stopped half-way, finished.
    pub deletions_finished: usize,
}

/// What [`ParquetArchive::verify`] found.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Verified {
    /// Rows read back.
    pub rows: u64,
    /// The recomputed content hash (equal to the manifest's).
    pub content_hash: String,
}

/// A filter for reading archives back.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ReadFilter {
    /// Only events recorded at or after.
    pub recorded_from: Option<DateTime<Utc>>,
    /// Only events recorded before.
    pub recorded_before: Option<DateTime<Utc>>,
    /// Only this stream.
    pub stream: Option<StreamId>,
}

impl ReadFilter {
    fn keeps(&self, e: &RecordedEvent) -> bool {
        self.recorded_from.is_none_or(|t| e.recorded_at >= t)
            && self.recorded_before.is_none_or(|t| e.recorded_at < t)
            && self.stream.as_ref().is_none_or(|s| &e.stream_id == s)
    }
}

/// Where an S3 archive lives.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct S3Config {
    /// The bucket.
    pub bucket: String,
    /// The region (`us-east-1`).
    pub region: String,
    /// An S3-compatible endpoint (`http://127.0.0.1:9000`); `None` for AWS.
    pub endpoint: Option<String>,
    /// Access key id.
    pub access_key_id: String,
    /// Secret access key.
    pub secret_access_key: String,
}

/// Archives of the log on an object store, under a prefix.
pub struct ParquetArchive {
    store: Arc<dyn ObjectStore>,
    prefix: Path,
}

impl std::fmt::Debug for ParquetArchive {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ParquetArchive").field("prefix", &self.prefix).finish_non_exhaustive()
    }
}

impl ParquetArchive {
    /// Archives under `prefix` of `store`.
    pub fn new(store: Arc<dyn ObjectStore>, prefix: &str) -> Self {
        Self { store, prefix: Path::from(prefix) }
    }

    /// Archives in a local directory (created if missing).
    ///
    /// # Errors
    /// The directory cannot be created.
    pub fn local(dir: &std::path::Path) -> Result<Self, ArchiveError> {
        std::fs::create_dir_all(dir)
            .map_err(|source| ArchiveError::Io { path: dir.to_owned(), source })?;
        let store = object_store::local::LocalFileSystem::new_with_prefix(dir)?;
        Ok(Self::new(Arc::new(store), "fintra-archive"))
    }

    /// Archives in an S3 bucket (or an S3-compatible server at `endpoint`, e.g. moto or MinIO),
    /// under the prefix `fintra-archive`.
    ///
    /// # Errors
    /// An invalid configuration.
    pub fn s3(config: &S3Config) -> Result<Self, ArchiveError> {
        let mut builder = object_store::aws::AmazonS3Builder::new()
            .with_bucket_name(&config.bucket)
            .with_region(&config.region)
            .with_access_key_id(&config.access_key_id)
            .with_secret_access_key(&config.secret_access_key);
        if let Some(endpoint) = &config.endpoint {
            builder = builder
                .with_endpoint(endpoint)
                .with_allow_http(endpoint.starts_with("http://"))
                .with_virtual_hosted_style_request(false);
        }
        Ok(Self::new(Arc::new(builder.build()?), "fintra-archive"))
    }

    /// The same store with archives under a sub-folder of the current prefix (one per warm
    /// schema or per tenant, for example).
    #[must_use]
    pub fn with_prefix(self, folder: &str) -> Self {
        Self { prefix: self.prefix.clone().join(folder), ..self }
    }

    fn path(&self, archive: &str, file: &str) -> Path {
        self.prefix.clone().join(archive).join(file)
    }

    fn at(&self, relative: &str) -> Result<Path, ArchiveError> {
        layout::under(&self.prefix, relative)
    }

    /// Where a file of `manifest` is read from: its published path (format 2), or its path in
    /// the archive's folder (format 1).
    fn file_path(&self, manifest: &Manifest, file: &ArchiveFile) -> Result<Path, ArchiveError> {
        if manifest.format_version >= 2 {
            self.at(&file.path)
        } else {
            Ok(self.path(&manifest.archive_id, &file.path))
        }
    }

    /// Writes `events` (consecutive in log order) as one archive and returns its manifest.
    ///
    /// The rows are split by tenant and by the UTC date of `recorded_at` (one or more files per
    /// pair). Files are written to `staging/`, then the manifest (the commit point: the archive
    /// exists from here on), then each file is moved into `data/` — so a glob over `data/` never
    /// sees a file no manifest lists. A write that stops half-way is finished or cleaned up by
    /// [`ParquetArchive::recover`]. Writing the same range again rewrites identical content.
    ///
    /// # Errors
    /// [`ArchiveError::Empty`]; store and Parquet errors.
    pub async fn write(&self, events: &[RecordedEvent]) -> Result<Manifest, ArchiveError> {
        let (Some(first), Some(last)) = (events.first(), events.last()) else {
            return Err(ArchiveError::Empty);
        };
        let archive_id = format!("positions-{:020}-{:020}", first.position.0, last.position.0);
        let mut files = Vec::new();
        for (tenant, date, rows) in partitions(events) {
            for chunk in rows.chunks(ROWS_PER_FILE) {
                let n = files.len();
                let buffer = parquet_bytes(chunk)?;
                let sha256 = hex(&Sha256::digest(&buffer));
                let bytes = buffer.len() as u64;
                let staged = self.at(&layout::staged_file(&archive_id, n))?;
                self.store.put(&staged, PutPayload::from(buffer)).await?;
                files.push(ArchiveFile {
                    path: layout::data_file(&archive_id, &tenant, date, n),
                    tenant: Some(tenant.clone()),
                    date: Some(date),
                    rows: chunk.len() as u64,
                    bytes,
                    sha256,
                });
            }
        }
        let manifest = Manifest {
            archive_id: archive_id.clone(),
            format_version: FORMAT_VERSION,
            first_position: first.position.0,
            last_position: last.position.0,
            first_recorded_at: events
                .iter()
                .map(|e| e.recorded_at)
                .min()
                .unwrap_or(first.recorded_at),
            last_recorded_at: events
                .iter()
                .map(|e| e.recorded_at)
                .max()
                .unwrap_or(last.recorded_at),
            rows: events.len() as u64,
            content_hash: content_hash(events),
            files,
        };
        let json = serde_json::to_vec_pretty(&manifest)?;
        self.store
            .put(&self.at(&layout::manifest_file(&archive_id))?, PutPayload::from(json))
            .await?;
        self.publish(&manifest).await?;
        Ok(manifest)
    }

    /// Moves a committed archive's staged files into `data/` (those already there are left).
    /// Returns how many were moved.
    async fn publish(&self, manifest: &Manifest) -> Result<usize, ArchiveError> {
        let mut moved = 0;
        for (n, file) in manifest.files.iter().enumerate() {
            let staged = self.at(&layout::staged_file(&manifest.archive_id, n))?;
            let published = self.at(&file.path)?;
            match self.store.rename(&staged, &published).await {
                Ok(()) => moved += 1,
                // Already moved (by an earlier attempt or a concurrent recovery).
                Err(object_store::Error::NotFound { .. }) => {
                    self.store.head(&published).await?;
                }
                Err(e) => return Err(e.into()),
            }
        }
        Ok(moved)
    }

    /// Archives the log's events after `after` up to and including `through`.
    ///
    /// # Errors
    /// As [`ParquetArchive::write`]; log errors.
    pub async fn archive_range<S: EventStore + ?Sized>(
        &self,
        log: &S,
        after: Position,
        through: Position,
    ) -> Result<Manifest, ArchiveError> {
        let mut events = Vec::new();
        let mut cursor = after;
        loop {
            let page = log.read_all(cursor, fintra_core::limits::READ_PAGE_EVENTS_MAX).await?;
            let Some(last) = page.last() else {
                // Committed events the gap-safe read still holds back (an older transaction is
                // open) belong to the range: wait for them rather than archive a range with a
                // hole that a later archive, starting at `through`, would never fill.
                if log.holds_back(cursor, Some(through)).await? {
                    tokio::time::sleep(std::time::Duration::from_millis(10)).await;
                    continue;
                }
                break;
            };
            cursor = last.position;
            let done = cursor >= through;
            events.extend(page.into_iter().filter(|e| e.position <= through));
            if done {
                break;
            }
        }
        self.write(&events).await
    }

    /// Every archive (one with a manifest and not being deleted), by first position.
    ///
    /// # Errors
    /// Store errors; a manifest that does not parse.
    pub async fn list(&self) -> Result<Vec<Manifest>, ArchiveError> {
        use futures::TryStreamExt;
        let objects: Vec<object_store::ObjectMeta> =
            self.store.list(Some(&self.prefix)).try_collect().await?;
        let relative = |o: &object_store::ObjectMeta| -> Vec<String> {
            o.location
                .prefix_match(&self.prefix)
                .map(|parts| parts.map(|p| p.as_ref().to_owned()).collect())
                .unwrap_or_default()
        };
        let deleting: std::collections::HashSet<String> = objects
            .iter()
            .filter_map(|o| match relative(o).as_slice() {
                [folder, id] if folder == layout::DELETING => Some(id.clone()),
                _ => None,
            })
            .collect();
        let mut out = Vec::new();
        for object in &objects {
            let id = match relative(object).as_slice() {
                [folder, file] if folder == layout::MANIFESTS => {
                    file.strip_suffix(".json").map(str::to_owned)
                }
                [id, file] if file == "manifest.json" => Some(id.clone()),
                _ => None,
            };
            let Some(id) = id.filter(|id| !deleting.contains(id)) else { continue };
            let bytes = self.store.get(&object.location).await?.bytes().await?;
            let manifest: Manifest = serde_json::from_slice(&bytes).map_err(|e| {
                ArchiveError::Corrupted { archive: id, reason: format!("manifest: {e}") }
            })?;
            out.push(manifest);
        }
        out.sort_by_key(|m| m.first_position);
        Ok(out)
    }

    /// The manifest of `archive_id`.
    ///
    /// # Errors
    /// [`ArchiveError::NotFound`]; store errors.
    pub async fn manifest(&self, archive_id: &str) -> Result<Manifest, ArchiveError> {
        let mut found = None;
        for path in
            [self.at(&layout::manifest_file(archive_id))?, self.path(archive_id, "manifest.json")]
        {
            match self.store.get(&path).await {
                Ok(got) => {
                    found = Some(got.bytes().await?);
                    break;
                }
                Err(object_store::Error::NotFound { .. }) => {}
                Err(e) => return Err(e.into()),
            }
        }
        let bytes = found.ok_or_else(|| ArchiveError::NotFound(archive_id.to_owned()))?;
        serde_json::from_slice(&bytes).map_err(|e| ArchiveError::Corrupted {
            archive: archive_id.to_owned(),
            reason: format!("manifest: {e}"),
        })
    }

    /// A file's bytes: from `data/`, or — for a committed archive whose files were not moved
    /// yet — from `staging/`.
    async fn file_bytes(
        &self,
        manifest: &Manifest,
        n: usize,
        file: &ArchiveFile,
    ) -> Result<bytes::Bytes, ArchiveError> {
        match self.store.get(&self.file_path(manifest, file)?).await {
            Ok(got) => Ok(got.bytes().await?),
            Err(object_store::Error::NotFound { .. }) if manifest.format_version >= 2 => {
                let staged = self.at(&layout::staged_file(&manifest.archive_id, n))?;
                Ok(self.store.get(&staged).await?.bytes().await?)
            }
            Err(e) => Err(e.into()),
        }
    }

    async fn read_all_rows(
        &self,
        manifest: &Manifest,
        check_files: bool,
    ) -> Result<Vec<RecordedEvent>, ArchiveError> {
        let mut events = Vec::new();
        for (n, file) in manifest.files.iter().enumerate() {
            let bytes = self.file_bytes(manifest, n, file).await?;
            if check_files
                && (bytes.len() as u64 != file.bytes || hex(&Sha256::digest(&bytes)) != file.sha256)
            {
                return Err(ArchiveError::Corrupted {
                    archive: manifest.archive_id.clone(),
                    reason: format!("{} differs from the manifest", file.path),
                });
            }
            let reader = ParquetRecordBatchReaderBuilder::try_new(bytes)?.build()?;
            for batch in reader {
                events.extend(from_batch(&batch?, &manifest.archive_id)?);
            }
        }
        // Files are split by tenant and date; the log order is the positions'.
        events.sort_by_key(|e| e.position);
        Ok(events)
    }

    /// Reads an archive back as events, in log order, keeping those `filter` keeps.
    ///
    /// # Errors
    /// Store, Parquet and decode errors.
    pub async fn read(
        &self,
        archive_id: &str,
        filter: &ReadFilter,
    ) -> Result<Vec<RecordedEvent>, ArchiveError> {
        let manifest = self.manifest(archive_id).await?;
        Ok(self
            .read_all_rows(&manifest, false)
            .await?
            .into_iter()
            .filter(|e| filter.keeps(e))
            .collect())
    }

    /// Checks an archive against its manifest: file sizes and hashes, row count, position range
    /// and the content hash of the decoded events.
    ///
    /// # Errors
    /// [`ArchiveError::Corrupted`] naming the mismatch; store errors.
    pub async fn verify(&self, archive_id: &str) -> Result<Verified, ArchiveError> {
        let manifest = self.manifest(archive_id).await?;
        let events = self.read_all_rows(&manifest, true).await?;
        let corrupted =
            |reason: String| ArchiveError::Corrupted { archive: archive_id.to_owned(), reason };
        if events.len() as u64 != manifest.rows {
            return Err(corrupted(format!(
                "{} rows, manifest says {}",
                events.len(),
                manifest.rows
            )));
        }
        let (first, last) =
            (events.first().map(|e| e.position.0), events.last().map(|e| e.position.0));
        if (first, last) != (Some(manifest.first_position), Some(manifest.last_position)) {
            return Err(corrupted("position range differs from the manifest".into()));
        }
        let hash = content_hash(&events);
        if hash != manifest.content_hash {
            return Err(corrupted("content hash differs from the manifest".into()));
        }
        Ok(Verified { rows: manifest.rows, content_hash: hash })
    }
}

/// `events` grouped by (tenant, UTC date of `recorded_at`), each group in log order.
fn partitions(events: &[RecordedEvent]) -> Vec<(String, chrono::NaiveDate, Vec<RecordedEvent>)> {
    let mut groups: std::collections::BTreeMap<(String, chrono::NaiveDate), Vec<RecordedEvent>> =
        std::collections::BTreeMap::new();
    for e in events {
        let key = (e.metadata.tenant_id.as_str().to_owned(), e.recorded_at.date_naive());
        groups.entry(key).or_default().push(e.clone());
    }
    groups.into_iter().map(|((tenant, date), rows)| (tenant, date, rows)).collect()
}

/// One Parquet file of `rows`.
fn parquet_bytes(rows: &[RecordedEvent]) -> Result<Vec<u8>, ArchiveError> {
    let properties = WriterProperties::builder()
        .set_compression(Compression::ZSTD(ZstdLevel::try_new(3)?))
        .set_max_row_group_row_count(Some(ROWS_PER_ROW_GROUP))
        .build();
    let mut buffer = Vec::new();
    let mut writer = ArrowWriter::try_new(&mut buffer, archive_schema(), Some(properties))?;
    for batch in rows.chunks(ROWS_PER_ROW_GROUP) {
        writer.write(&to_batch(batch)?)?;
    }
    writer.close()?;
    Ok(buffer)
}

/// A missing object is what a delete wanted.
fn ignore_missing(result: object_store::Result<()>) -> Result<(), ArchiveError> {
    match result {
        Ok(()) | Err(object_store::Error::NotFound { .. }) => Ok(()),
        Err(e) => Err(e.into()),
    }
}

#[cfg(doctest)]
#[doc = include_str!("../../docs/cold-tier.md")]
struct ColdTierGuide;
