//! Reading an archive in batches, for jobs that must not hold a whole archive in memory (the
//! Brain's batch forecasts, exports).

use fintra_core::RecordedEvent;
use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;

use crate::arrow_rows::from_batch;
use crate::{ArchiveError, ParquetArchive, ReadFilter};

/// Rows decoded at a time by [`ParquetArchive::scan`].
pub const SCAN_BATCH_ROWS: usize = 4_096;

/// What [`ParquetArchive::scan`] went through.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Scanned {
    /// Files read.
    pub files: usize,
    /// Rows decoded.
    pub rows: u64,
    /// Rows the filter kept (handed to the visitor).
    pub kept: u64,
}

impl ParquetArchive {
    /// Reads `archive_id` file by file and hands the rows `filter` keeps to `visit`, at most
    /// [`SCAN_BATCH_ROWS`] at a time. Memory holds one file's compressed bytes and one batch of
    /// rows, whatever the archive's size.
    ///
    /// Order: files in manifest order (format 2 splits them by tenant and by the date of
    /// `recorded_at`), rows of a file in log order. One stream's events therefore arrive in
    /// version order unless the stream crosses a midnight at which two commits were recorded
    /// out of position order; a consumer that needs strict stream order checks
    /// `stream_version` (the Brain's `ProfileFold` does). [`read`](Self::read) returns the whole
    /// archive in log order instead.
    ///
    /// A file that is missing or unreadable stops the scan with its error; rows already handed
    /// over stay handed over. The scan yields to the executor after every batch, so other tasks
    /// run and dropping the future stops it between batches. Decoding a batch and `visit` run
    /// on the polling thread: keep `visit` short, or scan from a blocking thread.
    ///
    /// # Errors
    /// Store, Parquet and decode errors; [`ArchiveError::NotFound`] for an unknown archive.
    pub async fn scan(
        &self,
        archive_id: &str,
        filter: &ReadFilter,
        mut visit: impl FnMut(Vec<RecordedEvent>),
    ) -> Result<Scanned, ArchiveError> {
        let manifest = self.manifest(archive_id).await?;
        let mut scanned = Scanned::default();
        for (n, file) in manifest.files.iter().enumerate() {
            let bytes = self.file_bytes(&manifest, n, file).await?;
            let reader = ParquetRecordBatchReaderBuilder::try_new(bytes)?
                .with_batch_size(SCAN_BATCH_ROWS)
                .build()?;
            scanned.files += 1;
            for batch in reader {
                let events = from_batch(&batch?, &manifest.archive_id)?;
                scanned.rows += events.len() as u64;
                let kept: Vec<RecordedEvent> =
                    events.into_iter().filter(|e| filter.keeps(e)).collect();
                scanned.kept += kept.len() as u64;
                if !kept.is_empty() {
                    visit(kept);
                }
                YieldNow(false).await;
            }
        }
        Ok(scanned)
    }
}

/// Returns `Pending` once (after asking to be polled again), then `Ready`: a runtime-agnostic
/// yield point.
struct YieldNow(bool);

impl std::future::Future for YieldNow {
    type Output = ();

    fn poll(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<()> {
        if self.0 {
            return std::task::Poll::Ready(());
        }
        self.0 = true;
        cx.waker().wake_by_ref();
        std::task::Poll::Pending
    }
}
