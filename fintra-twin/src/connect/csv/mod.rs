//! CSV bank exports: presets for the common UK, EU and US banks recognised from the header, or
//! a mapping of your own.
//!
//! - **Text.** UTF-8 with or without a byte-order mark, else Windows-1252; any delimiter; a
//!   preamble before the header (summary lines) is skipped; trailing delimiters are ignored.
//! - **Amounts** as banks write them ([`number`]): thousands separators, currency symbols,
//!   decimal commas, parentheses; one signed column or separate money-out / money-in columns; a
//!   fee column becomes a fee transaction of its own, so balances do not drift.
//! - **Status columns** are honoured: pending rows stay pending, reverted or declined rows are
//!   not transactions and are reported as skipped.
//! - **Per-row errors.** A row that cannot be read (an impossible date, an amount that is not
//!   one) is reported with its line and left out, or fails the file, as the caller's
//!   [`BadRecordPolicy`] says; it never loses the rest of the file.
//! - **Identity.** Rows without a provider id get a deterministic one from (account, date,
//!   amount, description, occurrence of that combination in the file), so re-importing the same
//!   export — or an overlapping one that holds whole days — is a no-op. Limits: a run of
//!   identical rows on one day split across two exports gets colliding ids; a pending row that
//!   completes later keeps its id, so staging sees it as already imported (still pending).
//! - **Formulas.** Text is imported as it is (`+44 Telecom Ltd` is a payee, not a formula);
//!   [`export`] neutralises formula characters when writing CSV a spreadsheet will open.

mod engine;
mod export;
pub mod number;
mod presets;
mod text;

pub use export::export;
pub use number::DecimalSeparator;
pub use presets::{CsvPreset, preset, presets};

use chrono::{DateTime, Utc};

use super::ConnectError;
use super::report::{BadRecordPolicy, Normalised};
use crate::fos::{AccountType, UnifiedAccount, UnifiedTransaction};
use fintra_core::Asset;

/// A column: by header name (compared case-insensitively, spaces collapsed), by position (for
/// files without a header), or the first of several that has a value in the row.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Column {
    /// By header name.
    Named(String),
    /// By position, from 0.
    Index(usize),
    /// The first of these with a non-empty cell.
    FirstOf(Vec<Column>),
}

/// Where the amount is.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum AmountColumns {
    /// One signed column: negative = outflow.
    Signed(Column),
    /// Money leaving and money entering the account, in two columns (each row fills one); their
    /// signs do not matter.
    OutIn {
        /// Money leaving the account.
        money_out: Column,
        /// Money entering the account.
        money_in: Column,
    },
}

/// What a status column's values mean (compared case-insensitively). A value in none of the
/// lists rejects the row.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StatusRules {
    /// Booked transactions (an empty cell counts as booked too).
    pub posted: Vec<String>,
    /// Pending ones.
    pub pending: Vec<String>,
    /// Rows that are not transactions (reverted, declined): skipped and reported.
    pub skipped: Vec<String>,
}

impl StatusRules {
    /// Revolut's `State`: COMPLETED, PENDING, REVERTED, DECLINED, FAILED, CANCELLED.
    pub fn revolut() -> Self {
        let list = |values: &[&str]| values.iter().map(|v| (*v).to_owned()).collect();
        Self {
            posted: list(&["COMPLETED"]),
            pending: list(&["PENDING"]),
            skipped: list(&["REVERTED", "DECLINED", "FAILED", "CANCELLED"]),
        }
    }
}

/// How to read one bank's export.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CsvMapping {
    /// Field delimiter.
    pub delimiter: u8,
    /// The header's column names, which also locate the header line after a preamble; `None`
    /// for a file without a header (columns by [`Column::Index`]).
    pub header: Option<Vec<String>>,
    /// The booking date.
    pub date: Column,
    /// `chrono` formats to try, in order (a format with a time reads the date part).
    pub date_formats: Vec<String>,
    /// The description: the first of these columns with a value.
    pub description: Vec<Column>,
    /// The amount column(s).
    pub amount: AmountColumns,
    /// A fee column, when the bank charges fees apart from the amount (Revolut).
    pub fee: Option<Column>,
    /// The running balance after each row.
    pub balance: Option<Column>,
    /// The provider's transaction id.
    pub id: Option<Column>,
    /// A currency column (otherwise the account's currency).
    pub currency: Option<Column>,
    /// A status column and what its values mean.
    pub status: Option<(Column, StatusRules)>,
    /// The decimal separator of amounts.
    pub decimal: DecimalSeparator,
}

impl CsvMapping {
    /// `Date,Description,Amount,Balance` with `dd/mm/yyyy` dates and a signed amount — a generic
    /// UK layout.
    pub fn signed_amount_preset() -> Self {
        Self {
            delimiter: b',',
            header: Some(["Date", "Description", "Amount", "Balance"].map(String::from).to_vec()),
            date: Column::Named("Date".into()),
            date_formats: vec!["%d/%m/%Y".into()],
            description: vec![Column::Named("Description".into())],
            amount: AmountColumns::Signed(Column::Named("Amount".into())),
            fee: None,
            balance: Some(Column::Named("Balance".into())),
            id: None,
            currency: None,
            status: None,
            decimal: DecimalSeparator::Point,
        }
    }

    /// `Transaction Date;Transaction Description;Money Out;Money In;Balance` with ISO dates,
    /// semicolons and separate out/in columns — a generic layout.
    pub fn money_in_out_preset() -> Self {
        let header =
            ["Transaction Date", "Transaction Description", "Money Out", "Money In", "Balance"];
        Self {
            delimiter: b';',
            header: Some(header.map(String::from).to_vec()),
            date: Column::Named("Transaction Date".into()),
            date_formats: vec!["%Y-%m-%d".into()],
            description: vec![Column::Named("Transaction Description".into())],
            amount: AmountColumns::OutIn {
                money_out: Column::Named("Money Out".into()),
                money_in: Column::Named("Money In".into()),
            },
            balance: Some(Column::Named("Balance".into())),
            ..Self::signed_amount_preset()
        }
    }
}

/// The account a CSV export belongs to (the file itself does not say).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CsvAccount {
    /// A stable id for the account (e.g. its sort code and number, hashed).
    pub provider_account_id: String,
    /// Display name.
    pub name: String,
    /// FOS type.
    pub account_type: AccountType,
    /// Currency.
    pub currency: Asset,
    /// Institution, when known.
    pub institution_id: Option<String>,
}

/// A row that is not a transaction (a reverted payment, a balance line, a detail line under a
/// collective order), left out and reported.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SkippedRow {
    /// Where: `line 7`.
    pub record: String,
    /// Why it is not a transaction.
    pub reason: String,
}

/// What one CSV export held.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CsvImport {
    /// The account; its balance is the running balance of the newest row, or unknown (`None`)
    /// without a balance column.
    pub account: UnifiedAccount,
    /// Its transactions, and the rows left out as unreadable.
    pub transactions: Normalised<UnifiedTransaction>,
    /// Rows that are not transactions.
    pub skipped: Vec<SkippedRow>,
    /// The preset it was read with, when detected.
    pub preset: Option<&'static str>,
    /// `UTF-8` or `Windows-1252`.
    pub encoding: &'static str,
}

/// Normalises a CSV export of `account` read with `mapping`.
///
/// # Errors
/// [`ConnectError`] when the file does not fit the mapping (no header line with its columns, a
/// named column missing) or is too large; under [`BadRecordPolicy::FailDocument`] also the first
/// bad row.
pub fn normalise(
    bytes: &[u8],
    mapping: &CsvMapping,
    account: &CsvAccount,
    now: DateTime<Utc>,
    policy: BadRecordPolicy,
) -> Result<CsvImport, ConnectError> {
    engine::read(bytes, mapping, account, now, policy)
}

/// The preset a file matches: the first whose header appears (after any preamble), else a
/// headerless layout whose row shape fits. `None` when nothing fits.
pub fn detect(bytes: &[u8]) -> Option<CsvPreset> {
    engine::detect(&text::decode(bytes).text)
}

/// Normalises a CSV export with the preset [`detect`] finds.
///
/// # Errors
/// [`ConnectError::Invalid`] when no preset fits (give a mapping to [`normalise`]); otherwise as
/// [`normalise`].
pub fn normalise_detected(
    bytes: &[u8],
    account: &CsvAccount,
    now: DateTime<Utc>,
    policy: BadRecordPolicy,
) -> Result<CsvImport, ConnectError> {
    let preset = detect(bytes).ok_or_else(|| ConnectError::Invalid {
        record: "document".to_owned(),
        reason: "no known bank export matches the header; give a CsvMapping".to_owned(),
    })?;
    let mut import = engine::read(bytes, &preset.mapping, account, now, policy)?;
    import.preset = Some(preset.name);
    Ok(import)
}
