//! Yapily: the `GET /accounts` and `GET /accounts/{id}/transactions` response bodies
//! (`{"meta": …, "data": [ … ]}`).
//!
//! Yapily amounts are already signed from the account holder's side (negative = outflow) and
//! may be numbers or strings; `status` is `BOOKED` or `PENDING`; `balance.balanceAmount.amount`
//! on a transaction is the running balance after it. Liability balances are stored negative
//! whatever sign the bank used (`-|balance|`). Yapily has no pending→posted link: a booked
//! transaction replaces nothing.

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
    #[serde(borrow)]
    data: Vec<&'a RawValue>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Account<'a> {
    id: String,
    account_type: String,
    nickname: Option<String>,
    description: Option<String>,
    #[serde(borrow)]
    balance: &'a RawValue,
    currency: String,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct BalanceAmount<'a> {
    #[serde(borrow)]
    amount: &'a RawValue,
    currency: String,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Balance<'a> {
    #[serde(borrow)]
    balance_amount: BalanceAmount<'a>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Merchant {
    merchant_name: Option<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Transaction<'a> {
    id: String,
    booking_date_time: Option<String>,
    date: Option<String>,
    status: String,
    #[serde(borrow)]
    amount: &'a RawValue,
    currency: String,
    description: String,
    #[serde(borrow)]
    balance: Option<Balance<'a>>,
    merchant: Option<Merchant>,
}

fn parse(json: &[u8]) -> Result<Document<'_>, ConnectError> {
    check_size("input bytes", INPUT_BYTES_MAX, json.len())?;
    let document: Document<'_> =
        serde_json::from_slice(json).map_err(|e| malformed("document", &e))?;
    check_size("records", RECORDS_MAX, document.data.len())?;
    Ok(document)
}

fn account_type(record: &str, kind: &str) -> Result<AccountType, ConnectError> {
    Ok(match kind.trim().to_ascii_uppercase().as_str() {
        "CURRENT" | "E_MONEY" | "CHARGE_CARD" => AccountType::Checking,
        "SAVINGS" => AccountType::Savings,
        "CREDIT_CARD" => AccountType::CreditCard,
        "LOAN" => AccountType::Loan,
        "MORTGAGE" => AccountType::Mortgage,
        "INVESTMENT" | "PENSION" => AccountType::Investment,
        other => {
            return Err(ConnectError::Invalid {
                record: record.to_owned(),
                reason: format!("unknown accountType {other:?}"),
            });
        }
    })
}

/// Normalises a Yapily accounts response.
///
/// # Errors
/// [`ConnectError`] naming the first bad record; nothing is returned partially.
pub fn accounts(
    json: &[u8],
    institution_id: Option<&str>,
) -> Result<Vec<UnifiedAccount>, ConnectError> {
    each_record("data", &parse(json)?.data, |record, a: Account<'_>| {
        let id = text(record, "id", &a.id)?;
        let account_type = account_type(record, &a.account_type)?;
        let asset = currency(record, &a.currency)?;
        let balance = minor_units(record, a.balance.get(), asset)?;
        let class = account_type.class();
        let balance_minor = match class {
            AccountClass::Liability => -balance.saturating_abs(),
            AccountClass::Asset => balance,
        };
        let name = a.nickname.or(a.description).unwrap_or_else(|| id.clone());
        Ok(UnifiedAccount {
            account_id: format!("{}:{id}", Source::Yapily.prefix()),
            source: Source::Yapily,
            provider_account_id: id,
            institution_id: institution_id.map(str::to_owned),
            name: text(record, "nickname", &name)?,
            account_type,
            class,
            currency: asset,
            balance_minor,
            available_balance_minor: None,
        })
    })
}

/// Normalises a Yapily transactions response for `account`.
///
/// # Errors
/// [`ConnectError`] naming the first bad record; nothing is returned partially.
pub fn transactions(
    json: &[u8],
    account: &UnifiedAccount,
    now: DateTime<Utc>,
) -> Result<Vec<UnifiedTransaction>, ConnectError> {
    each_record("data", &parse(json)?.data, |record, t: Transaction<'_>| {
        let id = text(record, "id", &t.id)?;
        let asset = currency(record, &t.currency)?;
        same_currency(record, asset, account.currency)?;
        let status = match t.status.trim().to_ascii_uppercase().as_str() {
            "BOOKED" => TransactionStatus::Posted,
            "PENDING" => TransactionStatus::Pending,
            other => {
                return Err(ConnectError::Invalid {
                    record: record.to_owned(),
                    reason: format!("unknown status {other:?}"),
                });
            }
        };
        let day = t.booking_date_time.or(t.date).ok_or_else(|| ConnectError::Malformed {
            record: record.to_owned(),
            reason: "missing field `bookingDateTime`".to_owned(),
        })?;
        let amount_minor = minor_units(record, t.amount.get(), asset)?;
        let balance_after_minor = match &t.balance {
            Some(b) => {
                let balance_asset = currency(record, &b.balance_amount.currency)?;
                Some(minor_units(record, b.balance_amount.amount.get(), balance_asset)?)
            }
            None => None,
        };
        let description = text(record, "description", &t.description)?;
        let merchant = t.merchant.and_then(|m| m.merchant_name);
        let enrichment = categorise(&description, amount_minor, merchant.as_deref(), now);
        Ok(UnifiedTransaction {
            transaction_id: format!("{}:{id}", Source::Yapily.prefix()),
            account_id: account.account_id.clone(),
            provider_transaction_id: id,
            pending_transaction_id: None,
            amount_minor,
            currency: asset,
            status,
            date: date(record, &day)?,
            description,
            balance_after_minor,
            enrichment: Some(enrichment),
        })
    })
}
