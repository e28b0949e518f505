//! Reads the sample files and normalises them with Connect: what a host service does with the
//! bodies its providers return.

use std::path::Path;

use chrono::{DateTime, Utc};
use fintra_core::Asset;
use fintra_twin::connect::csv::{CsvAccount, CsvMapping};
use fintra_twin::connect::{BadRecordPolicy, ConnectError, RejectedRecord, plaid, yapily};
use fintra_twin::fos::{AccountType, Source, UnifiedAccount, UnifiedTransaction};

/// Accounts and transactions from one source.
#[derive(Clone, Debug)]
pub struct Normalised {
    /// Where from.
    pub source: Source,
    /// Accounts.
    pub accounts: Vec<UnifiedAccount>,
    /// Transactions.
    pub transactions: Vec<UnifiedTransaction>,
    /// Records left out as unreadable ([`BadRecordPolicy::Skip`]), with where and why.
    pub rejected: Vec<RejectedRecord>,
}

/// Why the sample could not be loaded.
#[derive(Debug, thiserror::Error)]
pub enum LoadError {
    /// A file could not be read.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: String,
        /// The error.
        source: std::io::Error,
    },
    /// A file did not normalise.
    #[error("{file}: {source}")]
    Connect {
        /// The file.
        file: &'static str,
        /// The error.
        source: ConnectError,
    },
}

/// The credit-union account the CSV export belongs to.
pub fn credit_union_account() -> CsvAccount {
    CsvAccount {
        provider_account_id: "cu-savings-0042".into(),
        name: "Credit Union Saver".into(),
        account_type: AccountType::Savings,
        currency: Asset::GBP,
        institution_id: Some("ins_creditunion".into()),
    }
}

fn read(dir: &Path, name: &str) -> Result<Vec<u8>, LoadError> {
    let path = dir.join(name);
    std::fs::read(&path)
        .map_err(|source| LoadError::Io { path: path.display().to_string(), source })
}

/// Normalises the Plaid files of `dir`; unreadable records are left out and reported.
///
/// # Errors
/// [`LoadError`].
pub fn plaid_files(dir: &Path, now: DateTime<Utc>) -> Result<Normalised, LoadError> {
    let wrap = |file| move |source| LoadError::Connect { file, source };
    let policy = BadRecordPolicy::Skip;
    let accounts =
        plaid::accounts(&read(dir, "plaid_accounts.json")?, Some("ins_northbank"), policy)
            .map_err(wrap("plaid_accounts.json"))?;
    let transactions =
        plaid::transactions(&read(dir, "plaid_transactions.json")?, &accounts.records, now, policy)
            .map_err(wrap("plaid_transactions.json"))?;
    let mut rejected = accounts.rejected;
    rejected.extend(transactions.rejected);
    Ok(Normalised {
        source: Source::Plaid,
        accounts: accounts.records,
        transactions: transactions.records,
        rejected,
    })
}

/// Normalises the Yapily files of `dir`; unreadable records are left out and reported.
///
/// # Errors
/// [`LoadError`].
pub fn yapily_files(dir: &Path, now: DateTime<Utc>) -> Result<Normalised, LoadError> {
    let wrap = |file| move |source| LoadError::Connect { file, source };
    let policy = BadRecordPolicy::Skip;
    let accounts =
        yapily::accounts(&read(dir, "yapily_accounts.json")?, Some("ins_travelbank"), policy)
            .map_err(wrap("yapily_accounts.json"))?;
    let mut rejected = accounts.rejected;
    let mut transactions = Vec::new();
    if let Some(wallet) = accounts.records.first() {
        let read =
            yapily::transactions(&read(dir, "yapily_transactions.json")?, wallet, now, policy)
                .map_err(wrap("yapily_transactions.json"))?;
        transactions = read.records;
        rejected.extend(read.rejected);
    }
    Ok(Normalised { source: Source::Yapily, accounts: accounts.records, transactions, rejected })
}

/// Normalises the CSV export of `dir`; unreadable rows are left out and reported.
///
/// # Errors
/// [`LoadError`].
pub fn csv_file(dir: &Path, now: DateTime<Utc>) -> Result<Normalised, LoadError> {
    let bytes = read(dir, "credit_union.csv")?;
    let import = fintra_twin::connect::csv::normalise(
        &bytes,
        &CsvMapping::signed_amount_preset(),
        &credit_union_account(),
        now,
        BadRecordPolicy::Skip,
    )
    .map_err(|source| LoadError::Connect { file: "credit_union.csv", source })?;
    Ok(Normalised {
        source: Source::Csv,
        accounts: vec![import.account],
        transactions: import.transactions.records,
        rejected: import.transactions.rejected,
    })
}

/// Stages `data` against the twin in `stream`, lets `brain` categorise it (Connect asks the
/// Brain through its `Categoriser` trait before the import is reviewed), and approves it thirty
/// booking days per append, calling `progress(done, total)` after each. Returns the staged
/// import as reviewed (its report says what was new).
///
/// # Errors
/// The twin could not be loaded or the import was refused.
pub async fn import_normalised<S: fintra_core::EventStore>(
    repository: &fintra_core::Repository<fintra_twin::Profile, S>,
    stream: &fintra_core::StreamId,
    brain: &fintra_ml::Brain,
    now: DateTime<Utc>,
    import_id: uuid::Uuid,
    data: Normalised,
    progress: impl FnMut(usize, usize),
) -> Result<
    fintra_twin::connect::StagedImport,
    fintra_core::ExecuteError<fintra_twin::ProfileRejection>,
> {
    let current = repository.load(stream).await?.state;
    let mut staged = fintra_twin::connect::stage(
        &current,
        import_id,
        data.source,
        data.accounts,
        data.transactions,
    );
    staged.categorise(brain, Some(stream.as_str()), now);
    let review = staged.clone();
    let metadata = fintra_core::EventMetadata::default();
    staged.approve_in_steps(repository, stream, &metadata, 30, progress).await?;
    Ok(review)
}

/// The flagship's manual asset: a flat valued twice (2024-01-01 and 2025-01-15).
pub fn sample_flat() -> Vec<fintra_twin::fos::ManualAsset> {
    [(2024, 1, 1, 45_000_000), (2025, 1, 15, 46_800_000)]
        .into_iter()
        .filter_map(|(y, m, d, value_minor)| {
            Some(fintra_twin::fos::ManualAsset {
                asset_id: "asset_flat".into(),
                asset_type: "REAL_ESTATE".into(),
                name: "Flat, 12 Harbour Road".into(),
                currency: Asset::GBP,
                value_minor,
                valuation_date: chrono::NaiveDate::from_ymd_opt(y, m, d)?,
                attributes: [("address".to_owned(), "12 Harbour Road".to_owned())].into(),
            })
        })
        .collect()
}
