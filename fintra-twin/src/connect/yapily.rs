//! Yapily, as its public OpenAPI description documents it: `GET /accounts`,
//! `GET /accounts/{accountId}/transactions` and the real-time transactions endpoint
//! (`{"meta": …, "data": [ … ], "links": …}`).
//!
//! - **Account types.** Every `AccountType` Yapily defines has a FOS type and an asset or
//!   liability class ([`account_type`]); charge cards, overdrafts and marginal lending are
//!   liabilities. `OTHER` and `UNKNOWN` (or a type Yapily adds later) are kept as
//!   [`AccountType::Unknown`]: a clear status, never a refusal of the response. `CHARGES`,
//!   `COMMISSION` and `TAX` accounts may hold money or owe it: they are other assets keeping the
//!   bank's sign, so a negative balance still lowers net worth.
//! - **Balances.** The account's `balance`, else the booked one of its `accountBalances`
//!   (`INTERIM_BOOKED`, `CLOSING_BOOKED`, `EXPECTED`, `OPENING_BOOKED`, then any other; an
//!   *available* figure only when there is nothing else, since it includes credit lines).
//!   Liability balances are stored negative whatever sign the bank used (`-|balance|`). An
//!   asset's available balance is `INTERIM_AVAILABLE`, else `CLOSING_AVAILABLE`, when given; a
//!   liability's is not kept (it is unused credit, not money).
//! - **Amounts** are signed from the holder's side (negative = outflow), numbers or strings. A
//!   real-time transaction has only `transactionAmount`; a booked one usually `amount` too.
//! - **Other currencies.** A transaction in another currency than its account's keeps that
//!   amount in `original`; the account's amount is the `transactionAmount` when that is in the
//!   account's currency, else the amount converted at the `currencyExchange` rate to the
//!   account's currency (rounded half-even to its minor unit). Without either it is reported,
//!   not imported.
//! - Fields Yapily's schema leaves optional are optional here (its `Transaction` requires none):
//!   a transaction without `id` is identified by `enrichment.transactionHash.hash`, one without
//!   `status` is booked, one without `description` takes its `reference` or first
//!   `transactionInformation` line. Yapily has no pending → posted link, so a booked transaction
//!   replaces nothing.

use chrono::{DateTime, Utc};
use rust_decimal::Decimal;
use serde::Deserialize;
use serde_json::value::RawValue;

use super::amounts::{exact, exact_opt, money_minor, valuation};
use super::report::{BadRecordPolicy, Normalised, Rejections, each_record};
use super::{
    ConnectError, INPUT_BYTES_MAX, RECORDS_MAX, categorise, check_size, currency, date, malformed,
    text,
};
use crate::fos::{
    AccountClass, AccountType, ForeignAmount, Source, TransactionStatus, UnifiedAccount,
    UnifiedTransaction,
};
use fintra_core::Asset;

#[derive(Deserialize)]
struct Document {
    data: Vec<Box<RawValue>>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Amount {
    amount: Box<RawValue>,
    currency: String,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct AccountBalance {
    #[serde(rename = "type")]
    kind: Option<String>,
    balance_amount: Amount,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Account {
    id: String,
    account_type: Option<String>,
    #[serde(rename = "type")]
    usage: Option<String>,
    nickname: Option<String>,
    description: Option<String>,
    balance: Option<Box<RawValue>>,
    currency: Option<String>,
    #[serde(default)]
    account_balances: Vec<AccountBalance>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Balance {
    balance_amount: Amount,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Merchant {
    merchant_name: Option<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct CurrencyExchange {
    source_currency: Option<String>,
    target_currency: Option<String>,
    exchange_rate: Option<Box<RawValue>>,
    unit_currency: Option<String>,
}

#[derive(Deserialize)]
struct TransactionHash {
    hash: Option<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct TransactionEnrichment {
    transaction_hash: Option<TransactionHash>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Transaction {
    id: Option<String>,
    enrichment: Option<TransactionEnrichment>,
    booking_date_time: Option<String>,
    value_date_time: Option<String>,
    date: Option<String>,
    status: Option<String>,
    amount: Option<Box<RawValue>>,
    currency: Option<String>,
    transaction_amount: Option<Amount>,
    currency_exchange: Option<CurrencyExchange>,
    description: Option<String>,
    reference: Option<String>,
    #[serde(default)]
    transaction_information: Vec<String>,
    balance: Option<Balance>,
    merchant: Option<Merchant>,
}

fn parse(json: &[u8]) -> Result<Document, ConnectError> {
    check_size("input bytes", INPUT_BYTES_MAX, json.len())?;
    let document: Document = serde_json::from_slice(json).map_err(|e| malformed("document", &e))?;
    check_size("records", RECORDS_MAX, document.data.len())?;
    Ok(document)
}

/// The FOS type of a Yapily `accountType`. Every value of Yapily's enum is mapped; anything
/// else is [`AccountType::Unknown`].
pub fn account_type(kind: &str) -> AccountType {
    match kind.trim().to_ascii_uppercase().as_str() {
        "CURRENT"
        | "SALARY"
        | "CASH_PAYMENT"
        | "CASH_INCOME"
        | "NON_RESIDENT_EXTERNAL"
        | "E_MONEY"
        | "PREPAID_CARD"
        | "SETTLEMENT" => AccountType::Checking,
        "SAVINGS" | "LIMITED_LIQUIDITY_SAVINGS_ACCOUNT" | "MONEY_MARKET" | "OVERNIGHT_DEPOSIT" => {
            AccountType::Savings
        }
        "CASH_TRADING" | "INVESTMENT" | "PENSION" => AccountType::Investment,
        "CREDIT_CARD" | "CHARGE_CARD" => AccountType::CreditCard,
        "LOAN" | "MARGINAL_LENDING" | "OVERDRAFT" => AccountType::Loan,
        "MORTGAGE" => AccountType::Mortgage,
        "CHARGES" | "COMMISSION" | "TAX" => AccountType::OtherAsset,
        _ => AccountType::Unknown,
    }
}

/// The balance to take: `balance`, else the preferred of `accountBalances` (booked before
/// available, which includes credit lines).
fn balance_of(
    record: &str,
    a: &Account,
) -> Result<Option<(Decimal, Option<String>)>, ConnectError> {
    if let Some(value) = exact_opt(record, a.balance.as_deref())? {
        return Ok(Some((value, None)));
    }
    let rank = |b: &AccountBalance| match b.kind.as_deref() {
        Some("INTERIM_BOOKED") => 0,
        Some("CLOSING_BOOKED") => 1,
        Some("EXPECTED") => 2,
        Some("OPENING_BOOKED") => 3,
        Some("INTERIM_AVAILABLE" | "CLOSING_AVAILABLE" | "FORWARD_AVAILABLE" | "AUTHORISED") => 5,
        _ => 4,
    };
    match a.account_balances.iter().min_by_key(|b| rank(b)) {
        Some(b) => Ok(Some((
            exact(record, &b.balance_amount.amount)?,
            Some(b.balance_amount.currency.clone()),
        ))),
        None => Ok(None),
    }
}

/// An asset account's available balance: `INTERIM_AVAILABLE`, else `CLOSING_AVAILABLE`.
fn available_of(record: &str, a: &Account, asset: Asset) -> Result<Option<i128>, ConnectError> {
    let find = |kind: &str| a.account_balances.iter().find(|b| b.kind.as_deref() == Some(kind));
    match find("INTERIM_AVAILABLE").or_else(|| find("CLOSING_AVAILABLE")) {
        Some(b) if currency(record, &b.balance_amount.currency)? == asset => {
            Ok(Some(valuation(record, exact(record, &b.balance_amount.amount)?, asset)?.0))
        }
        _ => Ok(None),
    }
}

/// Normalises a Yapily accounts response.
///
/// # Errors
/// [`ConnectError`] for a document that is not a Yapily list response; under
/// [`BadRecordPolicy::FailDocument`] also the first bad account.
pub fn accounts(
    json: &[u8],
    institution_id: Option<&str>,
    policy: BadRecordPolicy,
) -> Result<Normalised<UnifiedAccount>, ConnectError> {
    let document = parse(json)?;
    let mut rejections = Rejections::new(policy);
    let raws: Vec<&RawValue> = document.data.iter().map(AsRef::as_ref).collect();
    let accounts = each_record("data", &raws, &mut rejections, |record, a: Account| {
        let id = text(record, "id", &a.id)?;
        let kind = a.account_type.as_deref().or(a.usage.as_deref()).unwrap_or("UNKNOWN");
        let account_type = account_type(kind);
        let balance = balance_of(record, &a)?;
        let code = a
            .currency
            .clone()
            .or_else(|| balance.as_ref().and_then(|(_, c)| c.clone()))
            .ok_or_else(|| ConnectError::Invalid {
                record: record.to_owned(),
                reason: "no currency on the account or its balances".to_owned(),
            })?;
        let asset = currency(record, &code)?;
        let class = account_type.class();
        let (balance_minor, balance_exact) = match balance {
            None => (None, None),
            Some((value, _)) => {
                let value = if class == AccountClass::Liability { -value.abs() } else { value };
                let (minor, exact) = valuation(record, value, asset)?;
                (Some(minor), exact)
            }
        };
        let available_balance_minor = match class {
            AccountClass::Asset => available_of(record, &a, asset)?,
            AccountClass::Liability => None,
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
            balance_exact,
            available_balance_minor,
        })
    })?;
    Ok(rejections.finish(accounts))
}

/// Normalises a Yapily transactions response (booked or real-time) for `account`.
///
/// # Errors
/// [`ConnectError`] for a document that is not a Yapily list response; under
/// [`BadRecordPolicy::FailDocument`] also the first bad transaction.
pub fn transactions(
    json: &[u8],
    account: &UnifiedAccount,
    now: DateTime<Utc>,
    policy: BadRecordPolicy,
) -> Result<Normalised<UnifiedTransaction>, ConnectError> {
    let document = parse(json)?;
    let mut rejections = Rejections::new(policy);
    let raws: Vec<&RawValue> = document.data.iter().map(AsRef::as_ref).collect();
    let records = each_record("data", &raws, &mut rejections, |record, t: Transaction| {
        transaction(record, t, account, now)
    })?;
    Ok(rejections.finish(records))
}

fn transaction(
    record: &str,
    t: Transaction,
    account: &UnifiedAccount,
    now: DateTime<Utc>,
) -> Result<UnifiedTransaction, ConnectError> {
    // Yapily's schema makes `id` optional and points to `enrichment.transactionHash` instead.
    let hash = t
        .enrichment
        .as_ref()
        .and_then(|e| e.transaction_hash.as_ref())
        .and_then(|h| h.hash.as_deref());
    let id = text(
        record,
        "id",
        t.id.as_deref().filter(|i| !i.trim().is_empty()).or(hash).unwrap_or_default(),
    )?;
    let status = match t.status.as_deref().map(|s| s.trim().to_ascii_uppercase()).as_deref() {
        Some("PENDING") => TransactionStatus::Pending,
        Some("BOOKED") | None => TransactionStatus::Posted,
        Some(other) => {
            return Err(ConnectError::Invalid {
                record: record.to_owned(),
                reason: format!("unknown status {other:?}"),
            });
        }
    };
    let day = t.booking_date_time.as_deref().or(t.date.as_deref()).or(t.value_date_time.as_deref());
    let day = day.ok_or_else(|| ConnectError::Malformed {
        record: record.to_owned(),
        reason: "no bookingDateTime, date or valueDateTime".to_owned(),
    })?;
    let (amount_minor, original) = amounts(record, &t, account.currency)?;
    let balance_after_minor = match &t.balance {
        Some(b) if currency(record, &b.balance_amount.currency)? == account.currency => {
            Some(valuation(record, exact(record, &b.balance_amount.amount)?, account.currency)?.0)
        }
        _ => None,
    };
    let description = t
        .description
        .or(t.reference)
        .or_else(|| t.transaction_information.first().cloned())
        .unwrap_or_default();
    let description = super::description(record, &description)?;
    let merchant = t.merchant.and_then(|m| m.merchant_name);
    let enrichment = categorise(&description, amount_minor, merchant.as_deref(), now);
    Ok(UnifiedTransaction {
        transaction_id: format!("{}:{id}", Source::Yapily.prefix()),
        account_id: account.account_id.clone(),
        provider_transaction_id: id,
        pending_transaction_id: None,
        amount_minor,
        currency: account.currency,
        status,
        date: date(record, day)?,
        description,
        balance_after_minor,
        enrichment: Some(enrichment),
        provider_category: None,
        original,
    })
}

/// The amount in the account's currency, and the original one when it was in another.
fn amounts(
    record: &str,
    t: &Transaction,
    account: Asset,
) -> Result<(i128, Option<ForeignAmount>), ConnectError> {
    let top = match (&t.amount, &t.currency) {
        (Some(amount), Some(code)) => Some((exact(record, amount)?, currency(record, code)?)),
        (Some(amount), None) => Some((exact(record, amount)?, account)),
        _ => None,
    };
    let transaction = match &t.transaction_amount {
        Some(a) => Some((exact(record, &a.amount)?, currency(record, &a.currency)?)),
        None => None,
    };
    let candidates = [top, transaction];
    if let Some((value, asset)) = candidates.iter().flatten().find(|(_, a)| *a == account) {
        let minor = money_minor(record, *value, *asset)?;
        let original = candidates.iter().flatten().find(|(_, a)| *a != account);
        let original = original
            .map(|(amount, currency)| ForeignAmount { amount: *amount, currency: *currency });
        return Ok((minor, original));
    }
    let Some((value, foreign)) = candidates.iter().flatten().next().copied() else {
        return Err(ConnectError::Malformed {
            record: record.to_owned(),
            reason: "no amount and no transactionAmount".to_owned(),
        });
    };
    let rate = t.currency_exchange.as_ref().and_then(|x| {
        let target = x.target_currency.as_deref().and_then(|c| Asset::iso(c).ok());
        let source = x.source_currency.as_deref().and_then(|c| Asset::iso(c).ok());
        let unit = x.unit_currency.as_deref().and_then(|c| Asset::iso(c).ok());
        let rate = exact_opt(record, x.exchange_rate.as_deref()).ok().flatten()?;
        // The rate is quoted per unit of `unit_currency` (the source, unless said otherwise).
        let per_source =
            if unit.is_some() && unit == target { Decimal::ONE.checked_div(rate)? } else { rate };
        (target == Some(account) && source.is_none_or(|s| s == foreign)).then_some(per_source)
    });
    let Some(rate) = rate else {
        return Err(ConnectError::Invalid {
            record: record.to_owned(),
            reason: format!(
                "the amount is in {foreign} and neither an amount nor an exchange rate into the \
                 account's {account} is given"
            ),
        });
    };
    let converted = value.checked_mul(rate).ok_or_else(|| ConnectError::InvalidAmount {
        record: record.to_owned(),
        value: value.to_string(),
        reason: "overflow".to_owned(),
    })?;
    let (minor, _) = valuation(record, converted, account)?;
    Ok((minor, Some(ForeignAmount { amount: value, currency: foreign })))
}
