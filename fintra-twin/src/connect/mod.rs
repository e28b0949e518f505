//! Connect: normalise provider data (Plaid, Yapily, CSV) into FOS types, stage an import for
//! review, and route requests to the healthiest provider.
//!
//! Rules (spec §4.2–4.3): `iso_currency_code` → `currency`; liability balances are stored
//! negative; transaction amounts are signed with negative = outflow; every transaction carries
//! its `provider_transaction_id`, the dedup key; a posted transaction names the pending one it
//! replaces. Every normaliser is all-or-nothing: malformed input is a [`ConnectError`] naming the
//! record, and nothing of that input is returned.

pub mod csv;
mod enrich;
pub mod plaid;
mod router;
mod staging;
pub mod yapily;

pub use enrich::{RULES_LINEAGE, categorise, clean_merchant};
pub use router::{HealthStats, Provider, ProviderError, ProviderRouter};
pub use staging::{ImportReceipt, StageReport, StagedImport, stage};

use chrono::NaiveDate;
use rust_decimal::Decimal;

use fintra_core::{Asset, Money};

/// Largest input a normaliser accepts, in bytes.
pub const INPUT_BYTES_MAX: usize = 64 * 1024 * 1024;
/// Most records (accounts or transactions) in one input.
pub const RECORDS_MAX: usize = 1_000_000;
/// Longest text field kept (descriptions, names, ids), in bytes.
pub const TEXT_BYTES_MAX: usize = 1024;

/// Why an input could not be normalised. `record` names where: `transactions[12]`,
/// `line 7`, or `document` for the input as a whole.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ConnectError {
    /// Not valid JSON, truncated, or a field of the wrong type or missing.
    #[error("{record}: malformed input: {reason}")]
    Malformed {
        /// Where.
        record: String,
        /// What the parser said.
        reason: String,
    },
    /// A currency code that is not an active ISO 4217 code.
    #[error("{record}: unknown currency code {code:?}")]
    UnknownCurrency {
        /// Where.
        record: String,
        /// The code.
        code: String,
    },
    /// An amount that is not a decimal, has more decimals than the currency, or overflows.
    #[error("{record}: invalid amount {value:?}: {reason}")]
    InvalidAmount {
        /// Where.
        record: String,
        /// The text.
        value: String,
        /// Why.
        reason: String,
    },
    /// A date that does not exist or is not in the expected format.
    #[error("{record}: invalid date {value:?}")]
    InvalidDate {
        /// Where.
        record: String,
        /// The text.
        value: String,
    },
    /// A CSV row with another number of columns than the header.
    #[error("{record}: expected {expected} columns, found {found}")]
    ColumnCount {
        /// Where.
        record: String,
        /// The header's count.
        expected: usize,
        /// This row's count.
        found: usize,
    },
    /// A text cell that a spreadsheet would run as a formula (`=`, `+`, `-`, `@`, tab, CR).
    #[error("{record}: column {column:?} starts with a formula character")]
    FormulaInjection {
        /// Where.
        record: String,
        /// The column.
        column: String,
    },
    /// A transaction for an account the input does not describe.
    #[error("{record}: unknown account {account_id:?}")]
    UnknownAccount {
        /// Where.
        record: String,
        /// The account id.
        account_id: String,
    },
    /// A value outside what the field allows (empty id, unknown enum value).
    #[error("{record}: {reason}")]
    Invalid {
        /// Where.
        record: String,
        /// Why.
        reason: String,
    },
    /// The input is larger than a bound.
    #[error("{what}: {actual} is above the maximum {max}")]
    TooLarge {
        /// What.
        what: &'static str,
        /// The bound.
        max: usize,
        /// What was given.
        actual: usize,
    },
}

pub(crate) fn check_size(
    what: &'static str,
    max: usize,
    actual: usize,
) -> Result<(), ConnectError> {
    if actual > max { Err(ConnectError::TooLarge { what, max, actual }) } else { Ok(()) }
}

/// Parses an ISO 4217 code.
pub(crate) fn currency(record: &str, code: &str) -> Result<Asset, ConnectError> {
    Asset::iso(code.trim()).map_err(|_| ConnectError::UnknownCurrency {
        record: record.to_owned(),
        code: code.to_owned(),
    })
}

/// Parses decimal text (optionally quoted, optionally in exponent form) into minor units of
/// `asset`, refusing to round.
pub(crate) fn minor_units(record: &str, text: &str, asset: Asset) -> Result<i128, ConnectError> {
    let invalid = |reason: &str| ConnectError::InvalidAmount {
        record: record.to_owned(),
        value: text.chars().take(64).collect(),
        reason: reason.to_owned(),
    };
    let trimmed = text.trim().trim_matches('"').trim();
    if trimmed.is_empty() || trimmed.len() > 64 {
        return Err(invalid("not a decimal number"));
    }
    let decimal = if trimmed.contains(['e', 'E']) {
        Decimal::from_scientific(trimmed)
    } else {
        trimmed.parse::<Decimal>()
    }
    .map_err(|_| invalid("not a decimal number"))?;
    Money::from_decimal(decimal, asset).map(|m| m.minor()).map_err(|e| invalid(&e.to_string()))
}

/// Parses `YYYY-MM-DD`, or the date part of an RFC 3339 instant.
pub(crate) fn date(record: &str, text: &str) -> Result<NaiveDate, ConnectError> {
    let text = text.trim();
    let day = text.get(..10).unwrap_or(text);
    let parsed = NaiveDate::parse_from_str(day, "%Y-%m-%d")
        .ok()
        .filter(|_| text.len() == 10 || chrono::DateTime::parse_from_rfc3339(text).is_ok());
    parsed.ok_or_else(|| ConnectError::InvalidDate {
        record: record.to_owned(),
        value: text.chars().take(64).collect(),
    })
}

/// A required, bounded, non-empty text field.
pub(crate) fn text(record: &str, field: &str, value: &str) -> Result<String, ConnectError> {
    let value = value.trim();
    if value.is_empty() {
        return Err(ConnectError::Invalid {
            record: record.to_owned(),
            reason: format!("{field} is empty"),
        });
    }
    if value.len() > TEXT_BYTES_MAX {
        return Err(ConnectError::Invalid {
            record: record.to_owned(),
            reason: format!("{field} is longer than {TEXT_BYTES_MAX} bytes"),
        });
    }
    Ok(value.to_owned())
}

pub(crate) fn malformed(record: &str, error: &serde_json::Error) -> ConnectError {
    ConnectError::Malformed { record: record.to_owned(), reason: error.to_string() }
}

/// Parses each raw JSON record of a document as `T` and maps it, naming failures
/// `<list>[<index>]`; stops at the first error.
pub(crate) fn each_record<'a, T: serde::Deserialize<'a>, R>(
    list: &str,
    raws: &[&'a serde_json::value::RawValue],
    mut map: impl FnMut(&str, T) -> Result<R, ConnectError>,
) -> Result<Vec<R>, ConnectError> {
    raws.iter()
        .enumerate()
        .map(|(i, raw)| {
            let record = format!("{list}[{i}]");
            let value: T = serde_json::from_str(raw.get()).map_err(|e| malformed(&record, &e))?;
            map(&record, value)
        })
        .collect()
}

/// A transaction must be in its account's currency.
pub(crate) fn same_currency(
    record: &str,
    given: Asset,
    account: Asset,
) -> Result<(), ConnectError> {
    if given == account {
        return Ok(());
    }
    Err(ConnectError::Invalid {
        record: record.to_owned(),
        reason: format!("currency {given} differs from the account's {account}"),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn amounts_are_exact_and_never_rounded() {
        assert_eq!(minor_units("r", "12.34", Asset::USD), Ok(1234));
        assert_eq!(minor_units("r", "\"-0.5\"", Asset::USD), Ok(-50));
        assert_eq!(minor_units("r", "1.2e2", Asset::USD), Ok(12000));
        assert_eq!(minor_units("r", "7", Asset::JPY), Ok(7));
        assert!(matches!(
            minor_units("r", "0.001", Asset::USD),
            Err(ConnectError::InvalidAmount { .. })
        ));
        assert!(matches!(
            minor_units("r", "1.5", Asset::JPY),
            Err(ConnectError::InvalidAmount { .. })
        ));
        assert!(matches!(
            minor_units("r", "abc", Asset::USD),
            Err(ConnectError::InvalidAmount { .. })
        ));
        assert!(matches!(
            minor_units("r", "1e400", Asset::USD),
            Err(ConnectError::InvalidAmount { .. })
        ));
    }

    #[test]
    fn impossible_dates_are_refused() {
        assert!(date("r", "2024-02-29").is_ok());
        assert!(date("r", "2024-02-29T10:00:00Z").is_ok());
        for bad in ["2023-02-29", "2024-13-01", "24-01-01", "", "2024-01-01Tgarbage"] {
            assert!(matches!(date("r", bad), Err(ConnectError::InvalidDate { .. })), "{bad}");
        }
    }
}
