//! Reading an export with a mapping: locate the header, resolve the columns, then read each row
//! into a transaction, a skipped row or a rejected one.

use std::collections::HashMap;

use chrono::{DateTime, NaiveDate, NaiveDateTime, Utc};
use rust_decimal::Decimal;

use super::number::parse_amount;
use super::presets::{CsvPreset, presets};
use super::text::{Decoded, cells, decode, normalise_header};
use super::{AmountColumns, Column, CsvAccount, CsvImport, CsvMapping, SkippedRow, StatusRules};
use crate::connect::report::{BadRecordPolicy, Rejections};
use crate::connect::{
    ConnectError, INPUT_BYTES_MAX, RECORDS_MAX, categorise, check_size, currency, description, text,
};
use crate::fos::{AccountClass, Source, TransactionStatus, UnifiedAccount, UnifiedTransaction};
use fintra_core::{Asset, Money};

/// Lines searched for the header before giving up (summary preambles are a few lines long).
const PREAMBLE_LINES_MAX: usize = 50;

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

/// The line index of `mapping`'s header in `text`, or of its first data line without a header.
fn header_line(text: &str, mapping: &CsvMapping) -> Option<usize> {
    let lines = text.lines().enumerate().take(PREAMBLE_LINES_MAX);
    match &mapping.header {
        Some(header) => {
            let wanted = normalise_header(header);
            lines.into_iter().find_map(|(i, line)| {
                (normalise_header(&cells(line, mapping.delimiter)) == wanted).then_some(i)
            })
        }
        None => text.lines().position(|line| !line.trim().is_empty()),
    }
}

/// A headerless layout fits when its first data line parses with its date format and amount.
fn fits_headerless(text: &str, preset: &CsvPreset) -> bool {
    let m = &preset.mapping;
    let Some(line) = text.lines().find(|l| !l.trim().is_empty()) else { return false };
    let row = cells(line, m.delimiter);
    let cell = |c: &Column| match c {
        Column::Index(i) => row.get(*i).map(String::as_str),
        _ => None,
    };
    let date_ok = cell(&m.date).is_some_and(|d| parse_date(d, &m.date_formats).is_some());
    let AmountColumns::Signed(amount) = &m.amount else { return false };
    let amount_ok = cell(amount).is_some_and(|a| matches!(parse_amount(a, m.decimal), Ok(Some(_))));
    let width_ok = match preset.name {
        "wells_fargo" => row.len() == 5 && row.get(2).is_some_and(|c| c.trim() == "*"),
        "hsbc_uk" => row.len() == 3,
        _ => true,
    };
    date_ok && amount_ok && width_ok
}

pub(super) fn detect(text: &str) -> Option<CsvPreset> {
    let all = presets();
    let headed = all
        .iter()
        .filter(|p| p.mapping.header.is_some())
        .find(|p| header_line(text, &p.mapping).is_some());
    headed
        .or_else(|| {
            all.iter().filter(|p| p.mapping.header.is_none()).find(|p| fits_headerless(text, p))
        })
        .cloned()
}

fn parse_date(cell: &str, formats: &[String]) -> Option<NaiveDate> {
    let cell = cell.trim();
    formats.iter().find_map(|f| {
        if f.contains("%H") {
            NaiveDateTime::parse_from_str(cell, f).ok().map(|dt| dt.date())
        } else {
            NaiveDate::parse_from_str(cell, f).ok()
        }
    })
}

/// Column positions, resolved against the header once.
struct Resolved {
    date: Vec<usize>,
    description: Vec<usize>,
    amount: (Vec<usize>, Option<Vec<usize>>),
    fee: Option<Vec<usize>>,
    balance: Option<Vec<usize>>,
    id: Option<Vec<usize>>,
    currency: Option<Vec<usize>>,
    status: Option<(Vec<usize>, StatusRules)>,
}

fn resolve(column: &Column, header: &HashMap<String, usize>) -> Result<Vec<usize>, ConnectError> {
    match column {
        Column::Index(i) => Ok(vec![*i]),
        Column::Named(name) => {
            let key = normalise_header(std::slice::from_ref(name)).join("");
            header.get(&key).map(|i| vec![*i]).ok_or_else(|| ConnectError::Malformed {
                record: "header".to_owned(),
                reason: format!("no column {name:?}"),
            })
        }
        Column::FirstOf(columns) => {
            let mut out = Vec::new();
            for c in columns {
                out.extend(resolve(c, header)?);
            }
            Ok(out)
        }
    }
}

fn resolve_all(
    mapping: &CsvMapping,
    header: &HashMap<String, usize>,
) -> Result<Resolved, ConnectError> {
    let opt = |c: &Option<Column>| c.as_ref().map(|c| resolve(c, header)).transpose();
    let description = mapping
        .description
        .iter()
        .map(|c| resolve(c, header))
        .collect::<Result<Vec<_>, _>>()?
        .concat();
    Ok(Resolved {
        date: resolve(&mapping.date, header)?,
        description,
        amount: match &mapping.amount {
            AmountColumns::Signed(c) => (resolve(c, header)?, None),
            AmountColumns::OutIn { money_out, money_in } => {
                (resolve(money_out, header)?, Some(resolve(money_in, header)?))
            }
        },
        fee: opt(&mapping.fee)?,
        balance: opt(&mapping.balance)?,
        id: opt(&mapping.id)?,
        currency: opt(&mapping.currency)?,
        status: match &mapping.status {
            Some((c, rules)) => Some((resolve(c, header)?, rules.clone())),
            None => None,
        },
    })
}

impl Resolved {
    /// The cells a row must have: one past the rightmost column read.
    fn width(&self) -> usize {
        let optional = [&self.fee, &self.balance, &self.id, &self.currency];
        let columns = [&self.date, &self.description, &self.amount.0]
            .into_iter()
            .chain(self.amount.1.as_ref())
            .chain(optional.into_iter().flatten())
            .chain(self.status.as_ref().map(|(c, _)| c));
        columns.flatten().max().map_or(0, |i| i + 1)
    }
}

/// One row's cells.
struct Row<'a>(&'a csv::StringRecord);

impl Row<'_> {
    /// The first non-empty cell of `columns`, trimmed ("" when none).
    fn first(&self, columns: &[usize]) -> &str {
        columns
            .iter()
            .filter_map(|i| self.0.get(*i))
            .map(str::trim)
            .find(|c| !c.is_empty())
            .unwrap_or("")
    }
}

/// What one row is.
enum Read {
    Transactions(Vec<UnifiedTransaction>),
    Skipped(String),
}

/// Everything a row is read with.
struct Reader<'a> {
    mapping: &'a CsvMapping,
    columns: Resolved,
    account: &'a CsvAccount,
    account_id: String,
    provider_account_id: String,
    now: DateTime<Utc>,
    seen: HashMap<String, u32>,
}

impl Reader<'_> {
    fn amount(
        &self,
        record: &str,
        row: &Row<'_>,
        asset: Asset,
    ) -> Result<Option<i128>, ConnectError> {
        let parse = |cell: &str| {
            parse_amount(cell, self.mapping.decimal).map_err(|value| ConnectError::InvalidAmount {
                record: record.to_owned(),
                value,
                reason: "not an amount".to_owned(),
            })
        };
        let value = match &self.columns.amount {
            (signed, None) => parse(row.first(signed))?,
            (out, Some(into)) => match (parse(row.first(out))?, parse(row.first(into))?) {
                (None, None) => None,
                (out, into) => Some(into.unwrap_or_default().abs() - out.unwrap_or_default().abs()),
            },
        };
        value.map(|v| minor(record, v, asset)).transpose()
    }

    /// The row's status, or why it is not a transaction.
    fn status(
        &self,
        record: &str,
        row: &Row<'_>,
    ) -> Result<Result<TransactionStatus, String>, ConnectError> {
        let Some((columns, rules)) = &self.columns.status else {
            return Ok(Ok(TransactionStatus::Posted));
        };
        let value = row.first(columns).to_ascii_uppercase();
        let is = |list: &[String]| list.iter().any(|v| v.eq_ignore_ascii_case(&value));
        if value.is_empty() || is(&rules.posted) {
            Ok(Ok(TransactionStatus::Posted))
        } else if is(&rules.pending) {
            Ok(Ok(TransactionStatus::Pending))
        } else if is(&rules.skipped) {
            Ok(Err(format!("status {value}: not a transaction")))
        } else {
            Err(ConnectError::Invalid {
                record: record.to_owned(),
                reason: format!("unknown status {value:?}"),
            })
        }
    }

    /// The row's currency, which must be the account's.
    fn asset(&self, record: &str, row: &Row<'_>) -> Result<Asset, ConnectError> {
        let asset = match &self.columns.currency {
            Some(c) if !row.first(c).is_empty() => currency(record, row.first(c))?,
            _ => self.account.currency,
        };
        if asset != self.account.currency {
            return Err(ConnectError::Invalid {
                record: record.to_owned(),
                reason: format!(
                    "currency {asset} differs from the account's {}",
                    self.account.currency
                ),
            });
        }
        Ok(asset)
    }

    /// The provider's id, or one derived from what the row says and how often the file said it.
    fn id(
        &mut self,
        record: &str,
        row: &Row<'_>,
        date: NaiveDate,
        amount_minor: i128,
        description: &str,
    ) -> Result<String, ConnectError> {
        if let Some(c) = &self.columns.id
            && !row.first(c).is_empty()
        {
            return text(record, "id", row.first(c));
        }
        let mut key = format!("{}|{date}|{amount_minor}|{description}", self.provider_account_id);
        let occurrence = match self.seen.get_mut(&key) {
            Some(n) => {
                *n += 1;
                *n
            }
            None => {
                self.seen.insert(key.clone(), 1);
                1
            }
        };
        key.push('|');
        key.push_str(&occurrence.to_string());
        Ok(stable_id(&key))
    }

    fn read(&mut self, record: &str, row: &Row<'_>) -> Result<Read, ConnectError> {
        let status = match self.status(record, row)? {
            Ok(status) => status,
            Err(reason) => return Ok(Read::Skipped(reason)),
        };
        let asset = self.asset(record, row)?;
        let Some(amount_minor) = self.amount(record, row, asset)? else {
            return Ok(Read::Skipped(if row.first(&self.columns.date).is_empty() {
                "no date and no amount: a detail line of the row above".to_owned()
            } else {
                "no amount: a balance line, not a transaction".to_owned()
            }));
        };
        let raw_date = row.first(&self.columns.date);
        let date = parse_date(raw_date, &self.mapping.date_formats).ok_or_else(|| {
            ConnectError::InvalidDate {
                record: record.to_owned(),
                value: raw_date.chars().take(64).collect(),
            }
        })?;
        let description = description(record, row.first(&self.columns.description))?;
        let balance_after_minor = match &self.columns.balance {
            Some(c) => self.amount_of(record, row.first(c), asset, "not a balance")?,
            None => None,
        };
        // Liabilities are stored negative whatever sign the bank printed, as the account is.
        let balance_after_minor = match self.account.account_type.class() {
            AccountClass::Liability => balance_after_minor.map(|b| -b.saturating_abs()),
            AccountClass::Asset => balance_after_minor,
        };
        let id = self.id(record, row, date, amount_minor, &description)?;
        let fee = match &self.columns.fee {
            Some(c) => {
                self.amount_of(record, row.first(c), asset, "not a fee")?.filter(|f| *f != 0)
            }
            None => None,
        };
        let fee = fee.map(|fee| {
            let fee_id = format!("{id}:fee");
            self.transaction(fee_id, -fee.abs(), status, date, format!("{description} fee"), None)
        });
        let main =
            self.transaction(id, amount_minor, status, date, description, balance_after_minor);
        Ok(Read::Transactions(std::iter::once(main).chain(fee).collect()))
    }

    /// A cell's amount in minor units of `asset` (`None` for an empty cell).
    fn amount_of(
        &self,
        record: &str,
        cell: &str,
        asset: Asset,
        what: &str,
    ) -> Result<Option<i128>, ConnectError> {
        parse_amount(cell, self.mapping.decimal)
            .map_err(|value| ConnectError::InvalidAmount {
                record: record.to_owned(),
                value,
                reason: what.to_owned(),
            })?
            .map(|v| minor(record, v, asset))
            .transpose()
    }

    fn transaction(
        &self,
        id: String,
        amount_minor: i128,
        status: TransactionStatus,
        date: NaiveDate,
        description: String,
        balance_after_minor: Option<i128>,
    ) -> UnifiedTransaction {
        let enrichment = categorise(&description, amount_minor, None, self.now);
        UnifiedTransaction {
            transaction_id: format!("{}:{id}", Source::Csv.prefix()),
            account_id: self.account_id.clone(),
            provider_transaction_id: id,
            pending_transaction_id: None,
            amount_minor,
            currency: self.account.currency,
            status,
            date,
            description,
            balance_after_minor,
            enrichment: Some(enrichment),
            provider_category: None,
            original: None,
        }
    }
}

fn minor(record: &str, value: Decimal, asset: Asset) -> Result<i128, ConnectError> {
    Money::from_decimal(value, asset).map(|m| m.minor()).map_err(|e| ConnectError::InvalidAmount {
        record: record.to_owned(),
        value: value.to_string(),
        reason: e.to_string(),
    })
}

pub(super) fn read(
    bytes: &[u8],
    mapping: &CsvMapping,
    account: &CsvAccount,
    now: DateTime<Utc>,
    policy: BadRecordPolicy,
) -> Result<CsvImport, ConnectError> {
    check_size("input bytes", INPUT_BYTES_MAX, bytes.len())?;
    let Decoded { text, encoding } = decode(bytes);
    let start = header_line(&text, mapping).ok_or_else(|| ConnectError::Malformed {
        record: "document".to_owned(),
        reason: match &mapping.header {
            Some(h) => {
                format!("no header line {:?} in the first {PREAMBLE_LINES_MAX} lines", h.join(","))
            }
            None => "the file is empty".to_owned(),
        },
    })?;
    let body: String = text.lines().skip(start).collect::<Vec<_>>().join("\n");
    let mut csv = csv::ReaderBuilder::new()
        .delimiter(mapping.delimiter)
        .has_headers(mapping.header.is_some())
        .flexible(true)
        .from_reader(body.as_bytes());
    let header = header_map(&mut csv, mapping, start)?;
    let provider_account_id =
        text_field("account", "provider_account_id", &account.provider_account_id)?;
    let mut reader = Reader {
        mapping,
        columns: resolve_all(mapping, &header)?,
        account,
        account_id: format!("{}:{provider_account_id}", Source::Csv.prefix()),
        provider_account_id,
        now,
        seen: HashMap::new(),
    };
    let mut rejections = Rejections::new(policy);
    let (transactions, skipped) = read_rows(&mut csv, &mut reader, start, &mut rejections)?;
    let unified = unified_account(account, &reader, &transactions)?;
    Ok(CsvImport {
        account: unified,
        transactions: rejections.finish(transactions),
        skipped,
        preset: None,
        encoding,
    })
}

/// The header's cells by normalised name (empty for a headerless mapping).
fn header_map(
    csv: &mut csv::Reader<&[u8]>,
    mapping: &CsvMapping,
    start: usize,
) -> Result<HashMap<String, usize>, ConnectError> {
    if mapping.header.is_none() {
        return Ok(HashMap::new());
    }
    let cells: Vec<String> = csv
        .headers()
        .map_err(|e| ConnectError::Malformed {
            record: format!("line {}", start + 1),
            reason: e.to_string(),
        })?
        .iter()
        .map(str::to_owned)
        .collect();
    Ok(normalise_header(&cells).into_iter().enumerate().map(|(i, c)| (c, i)).collect())
}

/// Every row after the header: its transactions, the rows that are not transactions, and the
/// unreadable ones (into `rejections`).
fn read_rows(
    csv: &mut csv::Reader<&[u8]>,
    reader: &mut Reader<'_>,
    start: usize,
    rejections: &mut Rejections,
) -> Result<(Vec<UnifiedTransaction>, Vec<SkippedRow>), ConnectError> {
    let width = reader.columns.width();
    let delimiter = char::from(reader.mapping.delimiter).to_string();
    let (mut transactions, mut skipped) = (Vec::new(), Vec::new());
    for (n, row) in csv.records().enumerate() {
        check_size("rows", RECORDS_MAX, n + 1)?;
        let line = row
            .as_ref()
            .ok()
            .and_then(|r| r.position())
            .map_or(n + 2, |p| usize::try_from(p.line()).unwrap_or(usize::MAX));
        let record = format!("line {}", start.saturating_add(line));
        let row = match row {
            Ok(row) => row,
            Err(e) => {
                let error =
                    ConnectError::Malformed { record: record.clone(), reason: e.to_string() };
                rejections.reject(&record, None, error, "")?;
                continue;
            }
        };
        if row.iter().all(|c| c.trim().is_empty()) {
            continue;
        }
        let read = if row.len() < width {
            Err(ConnectError::ColumnCount {
                record: record.clone(),
                expected: width,
                found: row.len(),
            })
        } else {
            reader.read(&record, &Row(&row))
        };
        match read {
            Ok(Read::Transactions(read)) => transactions.extend(read),
            Ok(Read::Skipped(reason)) => skipped.push(SkippedRow { record, reason }),
            Err(error) => {
                let raw = row.iter().collect::<Vec<_>>().join(&delimiter);
                rejections.reject(&record, None, error, &raw)?;
            }
        }
    }
    Ok((transactions, skipped))
}

fn text_field(record: &str, field: &str, value: &str) -> Result<String, ConnectError> {
    text(record, field, value)
}

/// The account, its balance the running balance of the newest row that has one: the last of
/// the latest day in an oldest-first file, the first in a newest-first one.
fn unified_account(
    account: &CsvAccount,
    reader: &Reader<'_>,
    transactions: &[UnifiedTransaction],
) -> Result<UnifiedAccount, ConnectError> {
    let rows: Vec<_> = transactions.iter().filter(|t| t.balance_after_minor.is_some()).collect();
    let newest_first = matches!((rows.first(), rows.last()), (Some(a), Some(b)) if a.date > b.date);
    let latest = rows.iter().map(|t| t.date).max();
    let newest = if newest_first {
        rows.iter().find(|t| Some(t.date) == latest)
    } else {
        rows.iter().rev().find(|t| Some(t.date) == latest)
    };
    let class = account.account_type.class();
    let balance = newest
        .and_then(|t| t.balance_after_minor)
        .map(|b| if class == AccountClass::Liability { -b.saturating_abs() } else { b });
    Ok(UnifiedAccount {
        account_id: reader.account_id.clone(),
        source: Source::Csv,
        provider_account_id: reader.provider_account_id.clone(),
        institution_id: account.institution_id.clone(),
        name: text("account", "name", &account.name)?,
        account_type: account.account_type,
        class,
        currency: account.currency,
        balance_minor: balance,
        balance_exact: None,
        available_balance_minor: None,
    })
}
