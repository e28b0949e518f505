//! Connect: normalise provider data (Plaid, Yapily, CSV) into FOS types, stage an import for
//! review, and route requests to the healthiest provider.
//!
//! Rules (spec §4.2–4.3): `iso_currency_code` → `currency`; liability balances are stored
//! negative; transaction amounts are signed with negative = outflow; every transaction carries
//! its `provider_transaction_id`, the dedup key; a posted transaction names the pending one it
//! replaces. Every normaliser reads what it can: a record it cannot read is left out and reported
//! with where it is and why ([`Normalised`], [`RejectedRecord`]), or fails the whole document,
//! as the caller's [`BadRecordPolicy`] says. `docs/connect.md` lists every endpoint, account
//! type and CSV preset, and what maps where.

mod amounts;
mod changes;
pub mod csv;
mod enrich;
pub mod plaid;
mod report;
mod router;
mod staging;
pub mod yapily;

pub use changes::{ChangesReport, StagedChanges, StagedSync, stage_sync};
pub(crate) use enrich::categorise;
pub use enrich::{
    BASIC_LINEAGE, BasicCategoriser, CategoriseRequest, Categoriser, PROVIDER_LINEAGE,
    UNCATEGORISED_IN, UNCATEGORISED_OUT, categorise_with, clean_merchant,
};
pub use report::{BadRecordPolicy, Normalised, QUARANTINE_BYTES_MAX, RejectedRecord};
pub use router::{HealthStats, Provider, ProviderError, ProviderRouter};
pub use staging::{ImportReceipt, StageReport, StagedImport, stage};

use chrono::NaiveDate;

use fintra_core::Asset;

/// Largest input a normaliser accepts, in bytes.
pub const INPUT_BYTES_MAX: usize = 64 * 1024 * 1024;
/// Most records (accounts or transactions) in one input.
pub const RECORDS_MAX: usize = 1_000_000;
/// Longest text field accepted (descriptions, names, ids), in bytes: a record with a longer one
/// is rejected and reported, never truncated.
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
    /// A CSV row too short to hold the columns the mapping reads.
    #[error("{record}: expected at least {expected} columns, found {found}")]
    ColumnCount {
        /// Where.
        record: String,
        /// The columns the mapping needs.
        expected: usize,
        /// This row's count.
        found: usize,
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

/// A description: like [`text`], but a provider may send none (an empty description is kept as
/// empty; the categoriser then goes by amount and merchant alone).
pub(crate) fn description(record: &str, value: &str) -> Result<String, ConnectError> {
    if value.trim().is_empty() {
        return Ok(String::new());
    }
    text(record, "description", value)
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
    fn impossible_dates_are_refused() {
        assert!(date("r", "2024-02-29").is_ok());
        assert!(date("r", "2024-02-29T10:00:00Z").is_ok());
        for bad in ["2023-02-29", "2024-13-01", "24-01-01", "", "2024-01-01Tgarbage"] {
            assert!(matches!(date("r", bad), Err(ConnectError::InvalidDate { .. })), "{bad}");
        }
    }
}
