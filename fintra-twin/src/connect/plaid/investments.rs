//! `/investments/holdings/get` and `/investments/transactions/get`: holdings, securities and
//! investment transactions, every quantity, price and value an exact decimal.

use serde::Deserialize;
use serde_json::value::RawValue;

use super::{asset, document, raws};
use crate::connect::amounts::{exact, exact_opt};
use crate::connect::report::{BadRecordPolicy, RejectedRecord, Rejections, each_record};
use crate::connect::{ConnectError, date, text};
use crate::fos::{Holding, InvestmentTransaction, Security, Source};

#[derive(Deserialize)]
struct PlaidSecurity {
    security_id: String,
    name: Option<String>,
    ticker_symbol: Option<String>,
    #[serde(rename = "type")]
    kind: Option<String>,
    isin: Option<String>,
    close_price: Option<Box<RawValue>>,
    close_price_as_of: Option<String>,
    iso_currency_code: Option<String>,
    unofficial_currency_code: Option<String>,
}

#[derive(Deserialize)]
struct PlaidHolding {
    account_id: String,
    security_id: String,
    quantity: Box<RawValue>,
    institution_price: Box<RawValue>,
    institution_value: Box<RawValue>,
    cost_basis: Option<Box<RawValue>>,
    iso_currency_code: Option<String>,
    unofficial_currency_code: Option<String>,
}

#[derive(Deserialize)]
struct PlaidInvestmentTransaction {
    investment_transaction_id: String,
    account_id: String,
    security_id: Option<String>,
    date: String,
    name: String,
    quantity: Box<RawValue>,
    amount: Box<RawValue>,
    price: Box<RawValue>,
    fees: Option<Box<RawValue>>,
    #[serde(rename = "type")]
    kind: String,
    subtype: Option<String>,
    iso_currency_code: Option<String>,
    unofficial_currency_code: Option<String>,
}

/// What `/investments/holdings/get` held.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Holdings {
    /// Positions.
    pub holdings: Vec<Holding>,
    /// The securities they are in.
    pub securities: Vec<Security>,
    /// Records left out, with where and why.
    pub rejected: Vec<RejectedRecord>,
}

/// What `/investments/transactions/get` held.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct InvestmentActivity {
    /// Trades and cash movements.
    pub transactions: Vec<InvestmentTransaction>,
    /// The securities they involve.
    pub securities: Vec<Security>,
    /// Records left out, with where and why.
    pub rejected: Vec<RejectedRecord>,
}

fn plaid_id(id: &str) -> String {
    format!("{}:{}", Source::Plaid.prefix(), id.trim())
}

fn securities_of(
    raws: &[&RawValue],
    rejections: &mut Rejections,
) -> Result<Vec<Security>, ConnectError> {
    each_record("securities", raws, rejections, |record, s: PlaidSecurity| {
        let id = text(record, "security_id", &s.security_id)?;
        Ok(Security {
            security_id: plaid_id(&id),
            name: s.name.filter(|n| !n.trim().is_empty()),
            ticker: s.ticker_symbol.filter(|t| !t.trim().is_empty()),
            security_type: s.kind.unwrap_or_else(|| "unknown".to_owned()),
            isin: s.isin.filter(|i| !i.trim().is_empty()),
            currency: asset(
                record,
                s.iso_currency_code.as_deref(),
                s.unofficial_currency_code.as_deref(),
            )?,
            close_price: exact_opt(record, s.close_price.as_deref())?,
            close_price_as_of: s
                .close_price_as_of
                .as_deref()
                .map(|d| date(record, d))
                .transpose()?,
        })
    })
}

/// Normalises `/investments/holdings/get` (its accounts are read with
/// [`super::accounts`]).
///
/// # Errors
/// [`ConnectError`] for a document that is not a Plaid response; under
/// [`BadRecordPolicy::FailDocument`] also the first bad record.
pub fn holdings(json: &[u8], policy: BadRecordPolicy) -> Result<Holdings, ConnectError> {
    let document = document(json)?;
    let mut rejections = Rejections::new(policy);
    let securities = securities_of(&raws(&document.securities), &mut rejections)?;
    let holdings = each_record(
        "holdings",
        &raws(&document.holdings),
        &mut rejections,
        |record, h: PlaidHolding| {
            Ok(Holding {
                account_id: plaid_id(&text(record, "account_id", &h.account_id)?),
                security_id: plaid_id(&text(record, "security_id", &h.security_id)?),
                quantity: exact(record, &h.quantity)?,
                price: exact(record, &h.institution_price)?,
                value: exact(record, &h.institution_value)?,
                cost_basis: exact_opt(record, h.cost_basis.as_deref())?,
                currency: asset(
                    record,
                    h.iso_currency_code.as_deref(),
                    h.unofficial_currency_code.as_deref(),
                )?,
            })
        },
    )?;
    Ok(Holdings { holdings, securities, rejected: rejections.rejected })
}

/// Normalises `/investments/transactions/get`. Plaid's `amount` is positive for cash leaving
/// the account (a buy); FOS flips it (negative = cash out).
///
/// # Errors
/// [`ConnectError`] for a document that is not a Plaid response; under
/// [`BadRecordPolicy::FailDocument`] also the first bad record.
pub fn investment_transactions(
    json: &[u8],
    policy: BadRecordPolicy,
) -> Result<InvestmentActivity, ConnectError> {
    let document = document(json)?;
    let mut rejections = Rejections::new(policy);
    let securities = securities_of(&raws(&document.securities), &mut rejections)?;
    let list = raws(&document.investment_transactions);
    let transactions = each_record(
        "investment_transactions",
        &list,
        &mut rejections,
        |record, t: PlaidInvestmentTransaction| {
            let id = text(record, "investment_transaction_id", &t.investment_transaction_id)?;
            let subtype = t.subtype.unwrap_or_default();
            Ok(InvestmentTransaction {
                transaction_id: plaid_id(&id),
                account_id: plaid_id(&text(record, "account_id", &t.account_id)?),
                security_id: t.security_id.filter(|s| !s.trim().is_empty()).map(|s| plaid_id(&s)),
                date: date(record, &t.date)?,
                description: text(record, "name", &t.name)?,
                kind: if subtype.is_empty() { t.kind } else { format!("{}/{subtype}", t.kind) },
                quantity: exact(record, &t.quantity)?,
                price: exact(record, &t.price)?,
                amount: -exact(record, &t.amount)?,
                fees: exact_opt(record, t.fees.as_deref())?,
                currency: asset(
                    record,
                    t.iso_currency_code.as_deref(),
                    t.unofficial_currency_code.as_deref(),
                )?,
            })
        },
    )?;
    Ok(InvestmentActivity { transactions, securities, rejected: rejections.rejected })
}
