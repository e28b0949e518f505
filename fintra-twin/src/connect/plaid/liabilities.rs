//! `/liabilities/get`: the terms of credit cards, mortgages and student loans. Plaid gives their
//! amounts in the account's currency, so the accounts come too.

use rust_decimal::Decimal;
use serde::Deserialize;
use serde_json::value::RawValue;

use crate::connect::amounts::{exact_opt, valuation};
use crate::connect::report::{BadRecordPolicy, Normalised, Rejections, each_record};
use crate::connect::{ConnectError, date, malformed, text};
use crate::fos::{LiabilityTerms, Source, UnifiedAccount};
use fintra_core::Asset;

#[derive(Deserialize, Default)]
struct Lists {
    #[serde(default)]
    credit: Option<Vec<Box<RawValue>>>,
    #[serde(default)]
    mortgage: Option<Vec<Box<RawValue>>>,
    #[serde(default)]
    student: Option<Vec<Box<RawValue>>>,
}

#[derive(Deserialize)]
struct Apr {
    apr_percentage: Option<Box<RawValue>>,
    apr_type: Option<String>,
}

#[derive(Deserialize)]
struct Credit {
    account_id: Option<String>,
    #[serde(default)]
    aprs: Vec<Apr>,
    is_overdue: Option<bool>,
    last_statement_balance: Option<Box<RawValue>>,
    minimum_payment_amount: Option<Box<RawValue>>,
    next_payment_due_date: Option<String>,
}

#[derive(Deserialize)]
struct InterestRate {
    percentage: Option<Box<RawValue>>,
}

#[derive(Deserialize)]
struct Mortgage {
    account_id: String,
    interest_rate: Option<InterestRate>,
    next_monthly_payment: Option<Box<RawValue>>,
    next_payment_due_date: Option<String>,
    origination_principal_amount: Option<Box<RawValue>>,
    maturity_date: Option<String>,
    past_due_amount: Option<Box<RawValue>>,
}

#[derive(Deserialize)]
struct Student {
    account_id: Option<String>,
    interest_rate_percentage: Option<Box<RawValue>>,
    is_overdue: Option<bool>,
    last_statement_balance: Option<Box<RawValue>>,
    minimum_payment_amount: Option<Box<RawValue>>,
    next_payment_due_date: Option<String>,
    origination_principal_amount: Option<Box<RawValue>>,
    expected_payoff_date: Option<String>,
}

/// What one liability record says, before its account's currency is known.
struct Terms<'a> {
    account_id: Option<&'a str>,
    kind: &'static str,
    rate: Option<&'a RawValue>,
    minimum: Option<&'a RawValue>,
    due: Option<&'a str>,
    statement: Option<&'a RawValue>,
    principal: Option<&'a RawValue>,
    maturity: Option<&'a str>,
    overdue: Option<bool>,
}

fn terms(
    record: &str,
    t: &Terms<'_>,
    accounts: &[UnifiedAccount],
) -> Result<LiabilityTerms, ConnectError> {
    let raw_id = t.account_id.ok_or_else(|| ConnectError::Invalid {
        record: record.to_owned(),
        reason: "no account_id".to_owned(),
    })?;
    let account_id = format!("{}:{}", Source::Plaid.prefix(), text(record, "account_id", raw_id)?);
    let currency: Asset =
        accounts.iter().find(|a| a.account_id == account_id).map(|a| a.currency).ok_or_else(
            || ConnectError::UnknownAccount {
                record: record.to_owned(),
                account_id: raw_id.to_owned(),
            },
        )?;
    let minor = |raw: Option<&RawValue>| -> Result<Option<i128>, ConnectError> {
        exact_opt(record, raw)?.map(|v| valuation(record, v, currency).map(|(m, _)| m)).transpose()
    };
    let day = |text: Option<&str>| text.map(|d| date(record, d)).transpose();
    Ok(LiabilityTerms {
        account_id,
        kind: t.kind.to_owned(),
        interest_rate_percent: exact_opt(record, t.rate)?,
        minimum_payment_minor: minor(t.minimum)?,
        next_payment_due: day(t.due)?,
        last_statement_balance_minor: minor(t.statement)?,
        origination_principal_minor: minor(t.principal)?,
        maturity_date: day(t.maturity)?,
        is_overdue: t.overdue,
        currency,
    })
}

/// The purchase APR of a card, else its first APR.
fn purchase_apr(aprs: &[Apr]) -> Option<&RawValue> {
    aprs.iter()
        .find(|a| a.apr_type.as_deref() == Some("purchase_apr"))
        .or_else(|| aprs.first())
        .and_then(|a| a.apr_percentage.as_deref())
}

/// Normalises the `liabilities` of `/liabilities/get` against `accounts` (the response's own,
/// from [`super::accounts`]): one [`LiabilityTerms`] per credit card, mortgage and student loan.
///
/// # Errors
/// [`ConnectError`] for a document without `liabilities`; under
/// [`BadRecordPolicy::FailDocument`] also the first bad record.
pub fn liabilities(
    json: &[u8],
    accounts: &[UnifiedAccount],
    policy: BadRecordPolicy,
) -> Result<Normalised<LiabilityTerms>, ConnectError> {
    let document = super::document(json)?;
    let raw = document.liabilities.ok_or_else(|| ConnectError::Malformed {
        record: "document".to_owned(),
        reason: "no liabilities object".to_owned(),
    })?;
    let lists: Lists = serde_json::from_str(raw.get()).map_err(|e| malformed("liabilities", &e))?;
    let mut rejections = Rejections::new(policy);
    let mut out = Vec::new();
    let credit = lists.credit.unwrap_or_default();
    out.extend(each_record(
        "liabilities.credit",
        &super::raws(&credit),
        &mut rejections,
        |record, c: Credit| {
            terms(
                record,
                &Terms {
                    account_id: c.account_id.as_deref(),
                    kind: "CREDIT",
                    rate: purchase_apr(&c.aprs),
                    minimum: c.minimum_payment_amount.as_deref(),
                    due: c.next_payment_due_date.as_deref(),
                    statement: c.last_statement_balance.as_deref(),
                    principal: None,
                    maturity: None,
                    overdue: c.is_overdue,
                },
                accounts,
            )
        },
    )?);
    let mortgage = lists.mortgage.unwrap_or_default();
    out.extend(each_record(
        "liabilities.mortgage",
        &super::raws(&mortgage),
        &mut rejections,
        |record, m: Mortgage| {
            let overdue =
                exact_opt(record, m.past_due_amount.as_deref())?.map(|d| d > Decimal::ZERO);
            terms(
                record,
                &Terms {
                    account_id: Some(&m.account_id),
                    kind: "MORTGAGE",
                    rate: m.interest_rate.as_ref().and_then(|r| r.percentage.as_deref()),
                    minimum: m.next_monthly_payment.as_deref(),
                    due: m.next_payment_due_date.as_deref(),
                    statement: None,
                    principal: m.origination_principal_amount.as_deref(),
                    maturity: m.maturity_date.as_deref(),
                    overdue,
                },
                accounts,
            )
        },
    )?);
    let student = lists.student.unwrap_or_default();
    out.extend(each_record(
        "liabilities.student",
        &super::raws(&student),
        &mut rejections,
        |record, s: Student| {
            terms(
                record,
                &Terms {
                    account_id: s.account_id.as_deref(),
                    kind: "STUDENT",
                    rate: s.interest_rate_percentage.as_deref(),
                    minimum: s.minimum_payment_amount.as_deref(),
                    due: s.next_payment_due_date.as_deref(),
                    statement: s.last_statement_balance.as_deref(),
                    principal: s.origination_principal_amount.as_deref(),
                    maturity: s.expected_payoff_date.as_deref(),
                    overdue: s.is_overdue,
                },
                accounts,
            )
        },
    )?);
    Ok(rejections.finish(out))
}
