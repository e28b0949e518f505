//! CSV bank exports with a configurable column mapping, and presets for two common layouts.
//!
//! Columns are named by their header. Amounts are either one signed column or a "money out" /
//! "money in" pair. Rows without a provider id get a deterministic one from (date, amount,
//! description, occurrence of that triple in the file), so re-importing the same export — or an
//! overlapping one — is a no-op. Text cells starting with a formula character (`=`, `+`, `-`,
//! `@`, tab, carriage return) are refused rather than passed on to a spreadsheet.

use chrono::{DateTime, NaiveDate, Utc};

use super::{
    ConnectError, INPUT_BYTES_MAX, RECORDS_MAX, categorise, check_size, currency, minor_units,
    same_currency, text,
};
use crate::fos::{
    AccountClass, AccountType, Source, TransactionStatus, UnifiedAccount, UnifiedTransaction,
};
use fintra_core::Asset;

/// Where the amount is.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum AmountColumns {
    /// One signed column: negative = outflow.
    Signed(String),
    /// Two unsigned columns; exactly one is filled per row.
    OutIn {
        /// Money leaving the account.
        money_out: String,
        /// Money entering the account.
        money_in: String,
    },
}

/// How to read one bank's export.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CsvMapping {
    /// Field delimiter.
    pub delimiter: u8,
    /// The booking date column.
    pub date_column: String,
    /// Its `chrono` format, e.g. `%d/%m/%Y`.
    pub date_format: String,
    /// The description column.
    pub description_column: String,
    /// The amount column(s).
    pub amount: AmountColumns,
    /// The running balance column, if any.
    pub balance_column: Option<String>,
    /// A provider id column, if any.
    pub id_column: Option<String>,
    /// A currency column, if any (otherwise the account's currency).
    pub currency_column: Option<String>,
}

impl CsvMapping {
    /// `Date,Description,Amount,Balance` with `dd/mm/yyyy` dates and a signed amount — the layout
    /// of many UK current-account exports.
    pub fn signed_amount_preset() -> Self {
        Self {
            delimiter: b',',
            date_column: "Date".into(),
            date_format: "%d/%m/%Y".into(),
            description_column: "Description".into(),
            amount: AmountColumns::Signed("Amount".into()),
            balance_column: Some("Balance".into()),
            id_column: None,
            currency_column: None,
        }
    }

    /// `Transaction Date;Transaction Description;Money Out;Money In;Balance` with ISO dates,
    /// semicolons and separate out/in columns — the other common layout.
    pub fn money_in_out_preset() -> Self {
        Self {
            delimiter: b';',
            date_column: "Transaction Date".into(),
            date_format: "%Y-%m-%d".into(),
            description_column: "Transaction Description".into(),
            amount: AmountColumns::OutIn {
                money_out: "Money Out".into(),
                money_in: "Money In".into(),
            },
            balance_column: Some("Balance".into()),
            id_column: None,
            currency_column: None,
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

/// Two FNV-1a passes with different offsets: a stable 128-bit id from text.
fn stable_id(text: &str) -> String {
    let mut a: u64 = 0xcbf2_9ce4_8422_2325;
    let mut b: u64 = 0x6c62_272e_07bb_0142;
    for byte in text.bytes() {
        a = (a ^ u64::from(byte)).wrapping_mul(0x0000_0100_0000_01b3);
        b = (b ^ u64::from(byte)).wrapping_mul(0x0000_0100_0000_01b3).rotate_left(7);
    }
    format!("{a:016x}{b:016x}")
}

fn injection(record: &str, column: &str, value: &str) -> Result<(), ConnectError> {
    if value.starts_with(['=', '+', '-', '@', '\t', '\r']) {
        return Err(ConnectError::FormulaInjection {
            record: record.to_owned(),
            column: column.to_owned(),
        });
    }
    Ok(())
}

struct Columns {
    date: usize,
    description: usize,
    amount: (usize, Option<usize>),
    balance: Option<usize>,
    id: Option<usize>,
    currency: Option<usize>,
}

fn column(headers: &csv::StringRecord, name: &str) -> Result<usize, ConnectError> {
    headers.iter().position(|h| h.trim().trim_start_matches('\u{feff}') == name).ok_or_else(|| {
        ConnectError::Malformed { record: "line 1".into(), reason: format!("no column {name:?}") }
    })
}

fn columns(headers: &csv::StringRecord, mapping: &CsvMapping) -> Result<Columns, ConnectError> {
    let optional = |name: &Option<String>| name.as_deref().map(|n| column(headers, n)).transpose();
    Ok(Columns {
        date: column(headers, &mapping.date_column)?,
        description: column(headers, &mapping.description_column)?,
        amount: match &mapping.amount {
            AmountColumns::Signed(name) => (column(headers, name)?, None),
            AmountColumns::OutIn { money_out, money_in } => {
                (column(headers, money_out)?, Some(column(headers, money_in)?))
            }
        },
        balance: optional(&mapping.balance_column)?,
        id: optional(&mapping.id_column)?,
        currency: optional(&mapping.currency_column)?,
    })
}

/// Normalises a CSV export of `account` read with `mapping`. Returns the account (its balance
/// is the running balance of the latest row, or 0 without a balance column) and its transactions
/// (all POSTED: exports list booked transactions).
///
/// # Errors
/// [`ConnectError`] naming the first bad line; nothing is returned partially.
pub fn normalise(
    bytes: &[u8],
    mapping: &CsvMapping,
    account: &CsvAccount,
    now: DateTime<Utc>,
) -> Result<(UnifiedAccount, Vec<UnifiedTransaction>), ConnectError> {
    check_size("input bytes", INPUT_BYTES_MAX, bytes.len())?;
    let mut reader = csv::ReaderBuilder::new()
        .delimiter(mapping.delimiter)
        .flexible(true)
        .has_headers(true)
        .from_reader(bytes);
    let headers = reader
        .headers()
        .map_err(|e| ConnectError::Malformed { record: "line 1".into(), reason: e.to_string() })?
        .clone();
    let file = File {
        cols: columns(&headers, mapping)?,
        width: headers.len(),
        mapping,
        account,
        provider_account_id: text("account", "provider_account_id", &account.provider_account_id)?,
        now,
    };
    let mut seen: std::collections::HashMap<String, u32> = std::collections::HashMap::new();
    let mut transactions = Vec::new();
    for (n, row) in reader.records().enumerate() {
        let record = format!("line {}", n + 2);
        let row = row.map_err(|e| ConnectError::Malformed {
            record: record.clone(),
            reason: e.to_string(),
        })?;
        check_size("rows", RECORDS_MAX, n + 1)?;
        transactions.push(file.transaction(&record, &row, &mut seen)?);
    }
    Ok((file.unified_account(&transactions)?, transactions))
}

/// What every row of one file is read with.
struct File<'a> {
    cols: Columns,
    width: usize,
    mapping: &'a CsvMapping,
    account: &'a CsvAccount,
    provider_account_id: String,
    now: DateTime<Utc>,
}

impl File<'_> {
    fn account_id(&self) -> String {
        format!("{}:{}", Source::Csv.prefix(), self.provider_account_id)
    }

    /// One row as a transaction; `seen` counts identical (date, amount, description) triples so
    /// rows without an id get a stable one.
    fn transaction(
        &self,
        record: &str,
        row: &csv::StringRecord,
        seen: &mut std::collections::HashMap<String, u32>,
    ) -> Result<UnifiedTransaction, ConnectError> {
        let (cols, mapping) = (&self.cols, self.mapping);
        if row.len() != self.width {
            return Err(ConnectError::ColumnCount {
                record: record.to_owned(),
                expected: self.width,
                found: row.len(),
            });
        }
        let cell = |i: usize| row.get(i).unwrap_or("").trim();
        let asset = match cols.currency {
            Some(c) => currency(record, cell(c))?,
            None => self.account.currency,
        };
        same_currency(record, asset, self.account.currency)?;
        let raw_description = row.get(cols.description).unwrap_or("");
        injection(record, &mapping.description_column, raw_description)?;
        let description = text(record, &mapping.description_column, raw_description)?;
        let day =
            NaiveDate::parse_from_str(cell(cols.date), &mapping.date_format).map_err(|_| {
                ConnectError::InvalidDate {
                    record: record.to_owned(),
                    value: cell(cols.date).chars().take(64).collect(),
                }
            })?;
        let amount_minor = self.amount(record, &cell, asset)?;
        let balance_after_minor = match cols.balance {
            Some(b) if !cell(b).is_empty() => Some(minor_units(record, cell(b), asset)?),
            _ => None,
        };
        let provider_transaction_id = match cols.id {
            Some(c) => {
                let raw = row.get(c).unwrap_or("");
                injection(record, "id", raw)?;
                text(record, "id", raw)?
            }
            None => {
                let key =
                    format!("{}|{day}|{amount_minor}|{description}", self.provider_account_id);
                let occurrence = seen.entry(key.clone()).or_insert(0);
                *occurrence += 1;
                stable_id(&format!("{key}|{occurrence}"))
            }
        };
        let enrichment = categorise(&description, amount_minor, None, self.now);
        Ok(UnifiedTransaction {
            transaction_id: format!("{}:{provider_transaction_id}", Source::Csv.prefix()),
            account_id: self.account_id(),
            provider_transaction_id,
            pending_transaction_id: None,
            amount_minor,
            currency: asset,
            status: TransactionStatus::Posted,
            date: day,
            description,
            balance_after_minor,
            enrichment: Some(enrichment),
        })
    }

    /// The signed amount: one signed column, or exactly one of money out / money in.
    fn amount<'r>(
        &self,
        record: &str,
        cell: &impl Fn(usize) -> &'r str,
        asset: Asset,
    ) -> Result<i128, ConnectError> {
        match self.cols.amount {
            (signed, None) => minor_units(record, cell(signed), asset),
            (out, Some(inn)) => match (cell(out), cell(inn)) {
                (o, "") if !o.is_empty() => {
                    Ok(minor_units(record, o, asset)?.checked_neg().unwrap_or(i128::MIN).min(0))
                }
                ("", i) if !i.is_empty() => Ok(minor_units(record, i, asset)?.max(0)),
                _ => Err(ConnectError::Invalid {
                    record: record.to_owned(),
                    reason: "exactly one of money out / money in must be filled".into(),
                }),
            },
        }
    }

    /// The account, its balance the running balance of the newest row: the last of the latest
    /// day in an oldest-first file, the first in a newest-first one.
    fn unified_account(
        &self,
        transactions: &[UnifiedTransaction],
    ) -> Result<UnifiedAccount, ConnectError> {
        let rows: Vec<(NaiveDate, Option<i128>)> =
            transactions.iter().map(|t| (t.date, t.balance_after_minor)).collect();
        let newest_first = matches!((rows.first(), rows.last()), (Some(a), Some(b)) if a.0 > b.0);
        let latest_day = rows.iter().map(|(d, _)| *d).max();
        let newest = if newest_first {
            rows.iter().find(|(d, _)| Some(*d) == latest_day)
        } else {
            rows.iter().rev().find(|(d, _)| Some(*d) == latest_day)
        };
        let balance = newest.and_then(|(_, b)| *b).unwrap_or(0);
        let class = self.account.account_type.class();
        Ok(UnifiedAccount {
            account_id: self.account_id(),
            source: Source::Csv,
            provider_account_id: self.provider_account_id.clone(),
            institution_id: self.account.institution_id.clone(),
            name: text("account", "name", &self.account.name)?,
            account_type: self.account.account_type,
            class,
            currency: self.account.currency,
            balance_minor: if class == AccountClass::Liability {
                -balance.saturating_abs()
            } else {
                balance
            },
            available_balance_minor: None,
        })
    }
}
