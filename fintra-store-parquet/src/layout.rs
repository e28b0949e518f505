//! Where an archive's objects live (format 2), and how a write or delete that stopped half-way
//! is finished.
//!
//! ```text
//! <prefix>/data/tenant=<tenant>/date=<YYYY-MM-DD>/<archive id>-<n>.parquet   published rows
//! <prefix>/manifests/<archive id>.json                                        the commit point
//! <prefix>/staging/<archive id>/<n>.parquet                                   being written
//! <prefix>/deleting/<archive id>                                              being deleted
//! ```
//!
//! A glob over `data/` sees only files some manifest lists: files are written to `staging/`,
//! the manifest is written (the archive now exists), and only then are the files moved into
//! `data/`. A delete marks the archive in `deleting/`, removes its files from `data/`, then its
//! manifest. [`super::ParquetArchive::recover`] finishes either after a crash.

use chrono::NaiveDate;
use object_store::path::Path;

use crate::ArchiveError;

/// Folder of published Parquet files (the one to glob).
pub(crate) const DATA: &str = "data";
/// Folder of manifests.
pub(crate) const MANIFESTS: &str = "manifests";
/// Folder of files not yet published.
pub(crate) const STAGING: &str = "staging";
/// Folder of deletion markers.
pub(crate) const DELETING: &str = "deleting";

/// A Hive partition value: the bytes `[A-Za-z0-9_.-]` as they are, every other byte as `%XX`
/// (so `/`, `=` and spaces cannot break the layout).
pub(crate) fn partition_value(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    for byte in value.bytes() {
        if byte.is_ascii_alphanumeric() || matches!(byte, b'_' | b'.' | b'-') {
            out.push(char::from(byte));
        } else {
            out.push_str(&format!("%{byte:02X}"));
        }
    }
    out
}

/// The published path (relative to the prefix) of file `n` of an archive.
pub(crate) fn data_file(archive_id: &str, tenant: &str, date: NaiveDate, n: usize) -> String {
    format!(
        "{DATA}/tenant={}/date={}/{archive_id}-{n:05}.parquet",
        partition_value(tenant),
        date.format("%Y-%m-%d")
    )
}

/// The staging path (relative to the prefix) of file `n` of an archive.
pub(crate) fn staged_file(archive_id: &str, n: usize) -> String {
    format!("{STAGING}/{archive_id}/{n:05}.parquet")
}

/// The manifest path (relative to the prefix) of an archive.
pub(crate) fn manifest_file(archive_id: &str) -> String {
    format!("{MANIFESTS}/{archive_id}.json")
}

/// The deletion marker (relative to the prefix) of an archive.
pub(crate) fn deleting_marker(archive_id: &str) -> String {
    format!("{DELETING}/{archive_id}")
}

/// `relative` under `prefix`, taken as written (it is built from encoded parts).
pub(crate) fn under(prefix: &Path, relative: &str) -> Result<Path, ArchiveError> {
    let relative = Path::parse(relative).map_err(|e| ArchiveError::Corrupted {
        archive: relative.to_owned(),
        reason: format!("not a valid object path: {e}"),
    })?;
    Ok(prefix.parts().chain(relative.parts()).collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn partition_values_cannot_break_the_layout() {
        assert_eq!(partition_value("acme-bank_1.eu"), "acme-bank_1.eu");
        assert_eq!(partition_value("a/b=c d"), "a%2Fb%3Dc%20d");
        assert_eq!(partition_value("zürich"), "z%C3%BCrich");
        let day = NaiveDate::from_ymd_opt(2025, 1, 2).unwrap_or_default();
        assert_eq!(
            data_file("p-1", "t", day, 3),
            "data/tenant=t/date=2025-01-02/p-1-00003.parquet"
        );
    }
}
