//! Plaid: the `/accounts/get` and `/transactions/get` response bodies.
//!
//! - `iso_currency_code` → `currency` (an `unofficial_currency_code` alone is refused: fintra
//!   keeps no FX or crypto rates here);
//! - Plaid reports `amount` positive for money leaving the account: FOS flips the sign so
//!   negative = outflow;
//! - Plaid reports debt balances (credit and loan accounts) positive: FOS stores them negative;
//! - `pending_transaction_id` on a posted transaction names the pending one it replaces.

use chrono::{DateTime, Utc};
use serde::Deserialize;
use serde_json::value::RawValue;

use super::{
    ConnectError, INPUT_BYTES_MAX, RECORDS_MAX, categorise, check_size, currency, date,
    each_record, malformed, minor_units, same_currency, text,
};
use crate::fos::{
    AccountClass, AccountType, Source, TransactionStatus, UnifiedAccount, UnifiedTransaction,
};

#[derive(Deserialize)]
struct Document<'a> {
    #[serde(borrow, default)]
    accounts: Vec<&'a RawValue>,
    #[serde(borrow, default)]
    transactions: Vec<&'a RawValue>,
}

#[derive(Deserialize)]
struct Balances<'a> {
    #[serde(borrow)]
    current: Option<&'a RawValue>,
    #[serde(borrow)]
    available: Option<&'a RawValue>,
    iso_currency_code: Option<String>,
    unofficial_currency_code: Option<String>,
}

#[derive(Deserialize)]
struct Account<'a> {
    account_id: String,
    name: String,
    #[serde(rename = "type")]
    kind: String,
    subtype: Option<String>,
    #[serde(borrow)]
    balances: Balances<'a>,
}

#[derive(Deserialize)]
struct Transaction<'a> {
    transaction_id: String,
    account_id: String,
    #[serde(borrow)]
    amount: &'a RawValue,
    iso_currency_code: Option<String>,
    unofficial_currency_code: Option<String>,
    date: String,
    name: String,
    merchant_name: Option<String>,
    pending: bool,
    pending_transaction_id: Option<String>,
}

fn parse_document(json: &[u8]) -> Result<Document<'_>, ConnectError> {
    check_size("input bytes", INPUT_BYTES_MAX, json.len())?;
    let document: Document<'_> =
        serde_json::from_slice(json).map_err(|e| malformed("document", &e))?;
    check_size("accounts", RECORDS_MAX, document.accounts.len())?;
    check_size("transactions", RECORDS_MAX, document.transactions.len())?;
    Ok(document)
}

fn account_type(
    record: &str,
    kind: &str,
    subtype: Option<&str>,
) -> Result<AccountType, ConnectError> {
    Ok(match (kind, subtype.unwrap_or("")) {
        ("depository", "savings" | "money market" | "cd" | "isa") => AccountType::Savings,
        ("depository", _) => AccountType::Checking,
        ("credit", _) => AccountType::CreditCard,
        ("loan", "mortgage" | "home equity") => AccountType::Mortgage,
        ("loan", _) => AccountType::Loan,
        ("investment" | "brokerage", "crypto exchange") => AccountType::CryptoWallet,
        ("investment" | "brokerage", _) => AccountType::Investment,
        ("other", _) => AccountType::OtherAsset,
        (other, _) => {
            return Err(ConnectError::Invalid {
                record: record.to_owned(),
                reason: format!("unknown account type {other:?}"),
            });
        }
    })
}

fn code(
    record: &str,
    iso: Option<&str>,
    unofficial: Option<&str>,
) -> Result<fintra_core::Asset, ConnectError> {
    match (iso, unofficial) {
        (Some(iso), _) => currency(record, iso),
        (None, Some(other)) => {
            Err(ConnectError::UnknownCurrency { record: record.to_owned(), code: other.to_owned() })
        }
        (None, None) => Err(ConnectError::Invalid {
            record: record.to_owned(),
            reason: "no currency code".to_owned(),
        }),
    }
}

/// Normalises the `accounts` of a Plaid response. `institution_id` is the Item's institution.
///
/// # Errors
/// [`ConnectError`] naming the first bad record; nothing is returned partially.
pub fn accounts(
    json: &[u8],
    institution_id: Option<&str>,
) -> Result<Vec<UnifiedAccount>, ConnectError> {
    let document = parse_document(json)?;
    each_record("accounts", &document.accounts, |record, a: Account<'_>| {
        let id = text(record, "account_id", &a.account_id)?;
        let account_type = account_type(record, &a.kind, a.subtype.as_deref())?;
        let asset = code(
            record,
            a.balances.iso_currency_code.as_deref(),
            a.balances.unofficial_currency_code.as_deref(),
        )?;
        let amount = |raw: Option<&RawValue>| -> Result<Option<i128>, ConnectError> {
            match raw.map(RawValue::get) {
                None | Some("null") => Ok(None),
                Some(value) => minor_units(record, value, asset).map(Some),
            }
        };
        let current = amount(a.balances.current)?.unwrap_or(0);
        let class = account_type.class();
        let balance_minor = match class {
            AccountClass::Liability => {
                current.checked_neg().ok_or_else(|| ConnectError::InvalidAmount {
                    record: record.to_owned(),
                    value: current.to_string(),
                    reason: "overflow".to_owned(),
                })?
            }
            AccountClass::Asset => current,
        };
        Ok(UnifiedAccount {
            account_id: format!("{}:{id}", Source::Plaid.prefix()),
            source: Source::Plaid,
            provider_account_id: id,
            institution_id: institution_id.map(str::to_owned),
            name: text(record, "name", &a.name)?,
            account_type,
            class,
            currency: asset,
            balance_minor,
            available_balance_minor: amount(a.balances.available)?,
        })
    })
}

/// Normalises the `transactions` of a Plaid response against `accounts` (from [`accounts`]):
/// every transaction must belong to one of them, in its currency.
///
/// # Errors
/// [`ConnectError`] naming the first bad record; nothing is returned partially.
pub fn transactions(
    json: &[u8],
    accounts: &[UnifiedAccount],
    now: DateTime<Utc>,
) -> Result<Vec<UnifiedTransaction>, ConnectError> {
    let document = parse_document(json)?;
    each_record("transactions", &document.transactions, |record, t: Transaction<'_>| {
        let provider_id = text(record, "transaction_id", &t.transaction_id)?;
        let account_id = format!("{}:{}", Source::Plaid.prefix(), t.account_id.trim());
        let account = accounts.iter().find(|a| a.account_id == account_id).ok_or_else(|| {
            ConnectError::UnknownAccount {
                record: record.to_owned(),
                account_id: t.account_id.clone(),
            }
        })?;
        let asset =
            code(record, t.iso_currency_code.as_deref(), t.unofficial_currency_code.as_deref())?;
        same_currency(record, asset, account.currency)?;
        let plaid_amount = minor_units(record, t.amount.get(), asset)?;
        let amount_minor =
            plaid_amount.checked_neg().ok_or_else(|| ConnectError::InvalidAmount {
                record: record.to_owned(),
                value: t.amount.get().to_owned(),
                reason: "overflow".to_owned(),
            })?;
        let description = text(record, "name", &t.name)?;
        let enrichment = categorise(&description, amount_minor, t.merchant_name.as_deref(), now);
        Ok(UnifiedTransaction {
            transaction_id: format!("{}:{provider_id}", Source::Plaid.prefix()),
            account_id,
            provider_transaction_id: provider_id,
            pending_transaction_id: t
                .pending_transaction_id
                .filter(|p| !p.trim().is_empty())
                .map(|p| format!("{}:{}", Source::Plaid.prefix(), p.trim())),
            amount_minor,
            currency: asset,
            status: if t.pending { TransactionStatus::Pending } else { TransactionStatus::Posted },
            date: date(record, &t.date)?,
            description,
            balance_after_minor: None,
            enrichment: Some(enrichment),
        })
    })
}
