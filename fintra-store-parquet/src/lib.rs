//! # fintra-store-parquet — the cold tier
//!
//! [`ParquetArchive`] writes ranges of the global log as Parquet files (zstd, row groups sized
//! for scans) on any `object_store` backend (the local file system here; S3-compatible stores
//! through the same trait), each archive with a JSON manifest (position and time range, row
//! count, per-file sizes and a content hash); it lists archives, reads them back as events
//! (optionally filtered by time or stream) and verifies an archive against its manifest.
//!
//! The Arrow schema is [`archive_schema`]; `docs/cold-tier.md` documents it column by column.

mod arrow_rows;

use std::sync::Arc;

use chrono::{DateTime, Utc};
use fintra_core::{EventStore, Position, RecordedEvent, StreamId};
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

/// Rows per Parquet file.
pub const ROWS_PER_FILE: usize = 1_000_000;
/// Rows per row group (a scan unit).
pub const ROWS_PER_ROW_GROUP: usize = 128 * 1024;
/// The archive format version written in manifests.
pub const FORMAT_VERSION: u32 = 1;

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
    /// Path relative to the archive root.
    pub path: String,
    /// Rows.
    pub rows: u64,
    /// Size in bytes.
    pub bytes: u64,
    /// SHA-256 of the file's bytes, hex.
    pub sha256: String,
}

/// What an archive holds, stored beside it as `manifest.json`.
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

    /// Writes `events` (consecutive in log order) as one archive and returns its manifest. The
    /// manifest is written last: an archive without one is incomplete and ignored by `list`.
    /// Writing the same range again overwrites it with identical content.
    ///
    /// # Errors
    /// [`ArchiveError::Empty`]; store and Parquet errors.
    pub async fn write(&self, events: &[RecordedEvent]) -> Result<Manifest, ArchiveError> {
        let (Some(first), Some(last)) = (events.first(), events.last()) else {
            return Err(ArchiveError::Empty);
        };
        let archive_id = format!("positions-{:020}-{:020}", first.position.0, last.position.0);
        let properties = WriterProperties::builder()
            .set_compression(Compression::ZSTD(ZstdLevel::try_new(3)?))
            .set_max_row_group_row_count(Some(ROWS_PER_ROW_GROUP))
            .build();
        let mut files = Vec::new();
        for (n, chunk) in events.chunks(ROWS_PER_FILE).enumerate() {
            let mut buffer = Vec::new();
            let mut writer =
                ArrowWriter::try_new(&mut buffer, archive_schema(), Some(properties.clone()))?;
            for batch in chunk.chunks(ROWS_PER_ROW_GROUP) {
                writer.write(&to_batch(batch)?)?;
            }
            writer.close()?;
            let name = format!("part-{n:05}.parquet");
            let sha256 = hex(&Sha256::digest(&buffer));
            let bytes = buffer.len() as u64;
            self.store.put(&self.path(&archive_id, &name), PutPayload::from(buffer)).await?;
            files.push(ArchiveFile { path: name, rows: chunk.len() as u64, bytes, sha256 });
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
        self.store.put(&self.path(&archive_id, "manifest.json"), PutPayload::from(json)).await?;
        Ok(manifest)
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
            let Some(last) = page.last() else { break };
            cursor = last.position;
            let done = cursor >= through;
            events.extend(page.into_iter().filter(|e| e.position <= through));
            if done {
                break;
            }
        }
        self.write(&events).await
    }

    /// Every complete archive (one with a manifest), by first position.
    ///
    /// # Errors
    /// Store errors; a manifest that does not parse.
    pub async fn list(&self) -> Result<Vec<Manifest>, ArchiveError> {
        use futures::TryStreamExt;
        let objects: Vec<object_store::ObjectMeta> =
            self.store.list(Some(&self.prefix)).try_collect().await?;
        let mut out = Vec::new();
        for object in objects.iter().filter(|o| o.location.filename() == Some("manifest.json")) {
            let bytes = self.store.get(&object.location).await?.bytes().await?;
            let manifest: Manifest =
                serde_json::from_slice(&bytes).map_err(|e| ArchiveError::Corrupted {
                    archive: object.location.to_string(),
                    reason: format!("manifest: {e}"),
                })?;
            out.push(manifest);
        }
        out.sort_by_key(|m| m.first_position);
        Ok(out)
    }

    /// Deletes an archive: its manifest first (so a half-deleted archive is incomplete and
    /// ignored by `list`), then every file under it. Deleting a missing archive is not an error.
    ///
    /// # Errors
    /// Store errors.
    pub async fn delete(&self, archive_id: &str) -> Result<(), ArchiveError> {
        use futures::TryStreamExt;
        match self.store.delete(&self.path(archive_id, "manifest.json")).await {
            Ok(()) | Err(object_store::Error::NotFound { .. }) => {}
            Err(e) => return Err(e.into()),
        }
        let folder = self.prefix.clone().join(archive_id);
        let files: Vec<object_store::ObjectMeta> =
            self.store.list(Some(&folder)).try_collect().await?;
        for file in files {
            match self.store.delete(&file.location).await {
                Ok(()) | Err(object_store::Error::NotFound { .. }) => {}
                Err(e) => return Err(e.into()),
            }
        }
        Ok(())
    }

    /// The manifest of `archive_id`.
    ///
    /// # Errors
    /// [`ArchiveError::NotFound`]; store errors.
    pub async fn manifest(&self, archive_id: &str) -> Result<Manifest, ArchiveError> {
        let bytes = match self.store.get(&self.path(archive_id, "manifest.json")).await {
            Ok(got) => got.bytes().await?,
            Err(object_store::Error::NotFound { .. }) => {
                return Err(ArchiveError::NotFound(archive_id.to_owned()));
            }
            Err(e) => return Err(e.into()),
        };
        serde_json::from_slice(&bytes).map_err(|e| ArchiveError::Corrupted {
            archive: archive_id.to_owned(),
            reason: format!("manifest: {e}"),
        })
    }

    async fn read_all_rows(
        &self,
        manifest: &Manifest,
        check_files: bool,
    ) -> Result<Vec<RecordedEvent>, ArchiveError> {
        let mut events = Vec::new();
        for file in &manifest.files {
            let bytes =
                self.store.get(&self.path(&manifest.archive_id, &file.path)).await?.bytes().await?;
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

#[cfg(doctest)]
#[doc = include_str!("../../docs/cold-tier.md")]
struct ColdTierGuide;
