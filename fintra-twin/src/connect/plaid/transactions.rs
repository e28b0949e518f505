//! `/transactions/get` and `/transactions/sync`.

use chrono::{DateTime, Utc};
use serde::Deserialize;
use serde_json::value::RawValue;

use super::{accounts_of, asset, document, raws};
use crate::connect::amounts::{exact, money_minor};
use crate::connect::report::{
    BadRecordPolicy, Normalised, RejectedRecord, Rejections, each_record,
};
use crate::connect::{ConnectError, categorise, date, description, same_currency, text};
use crate::fos::{
    ProviderCategory, RemovedTransaction, Source, TransactionStatus, UnifiedAccount,
    UnifiedTransaction,
};

#[derive(Deserialize)]
struct PersonalFinanceCategory {
    primary: String,
    detailed: Option<String>,
    confidence_level: Option<String>,
}

#[derive(Deserialize)]
struct Transaction {
    transaction_id: String,
    account_id: String,
    amount: Box<RawValue>,
    iso_currency_code: Option<String>,
    unofficial_currency_code: Option<String>,
    date: String,
    name: Option<String>,
    original_description: Option<String>,
    merchant_name: Option<String>,
    pending: bool,
    pending_transaction_id: Option<String>,
    personal_finance_category: Option<PersonalFinanceCategory>,
}

#[derive(Deserialize)]
struct Removed {
    transaction_id: String,
    account_id: Option<String>,
}

/// One page of `/transactions/sync`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SyncPage {
    /// New transactions.
    pub added: Vec<UnifiedTransaction>,
    /// Transactions Plaid changed since it sent them (same ids, new content).
    pub modified: Vec<UnifiedTransaction>,
    /// Transactions Plaid withdrew: fintra records a compensating correction for each.
    pub removed: Vec<RemovedTransaction>,
    /// Accounts the page carries (newer Plaid versions send them with every page).
    pub accounts: Vec<UnifiedAccount>,
    /// The cursor to ask for the next page with (and to store once `has_more` is false).
    pub next_cursor: String,
    /// True when another page follows.
    pub has_more: bool,
    /// Records left out, with where and why.
    pub rejected: Vec<RejectedRecord>,
}

/// Normalises `/transactions/get` against `accounts` (the response's own accounts, from
/// [`super::accounts`], or accounts known from earlier): every transaction must belong to one of
/// them, in its currency.
///
/// # Errors
/// [`ConnectError`] for a document that is not a Plaid response; under
/// [`BadRecordPolicy::FailDocument`] also the first bad transaction.
pub fn transactions(
    json: &[u8],
    accounts: &[UnifiedAccount],
    now: DateTime<Utc>,
    policy: BadRecordPolicy,
) -> Result<Normalised<UnifiedTransaction>, ConnectError> {
    let document = document(json)?;
    let mut rejections = Rejections::new(policy);
    let records = transactions_of(
        "transactions",
        &raws(&document.transactions),
        accounts,
        now,
        &mut rejections,
    )?;
    Ok(rejections.finish(records))
}

/// Normalises one page of `/transactions/sync`: `added` and `modified` transactions (against
/// `accounts` and the accounts the page carries), `removed` ids, and the cursor.
///
/// # Errors
/// [`ConnectError`] for a document that is not a sync page (no `next_cursor` or `has_more`);
/// under [`BadRecordPolicy::FailDocument`] also the first bad record.
pub fn sync(
    json: &[u8],
    accounts: &[UnifiedAccount],
    now: DateTime<Utc>,
    policy: BadRecordPolicy,
) -> Result<SyncPage, ConnectError> {
    let document = document(json)?;
    let (Some(next_cursor), Some(has_more)) = (document.next_cursor.clone(), document.has_more)
    else {
        return Err(ConnectError::Malformed {
            record: "document".to_owned(),
            reason: "a transactions/sync page has next_cursor and has_more".to_owned(),
        });
    };
    let mut rejections = Rejections::new(policy);
    let page_accounts = accounts_of(&raws(&document.accounts), None, &mut rejections)?;
    let mut known: Vec<UnifiedAccount> = accounts.to_vec();
    known.extend(
        page_accounts
            .iter()
            .filter(|a| !accounts.iter().any(|k| k.account_id == a.account_id))
            .cloned(),
    );
    let added = transactions_of("added", &raws(&document.added), &known, now, &mut rejections)?;
    let modified =
        transactions_of("modified", &raws(&document.modified), &known, now, &mut rejections)?;
    let removed =
        each_record("removed", &raws(&document.removed), &mut rejections, |record, r: Removed| {
            let id = text(record, "transaction_id", &r.transaction_id)?;
            Ok(RemovedTransaction {
                transaction_id: format!("{}:{id}", Source::Plaid.prefix()),
                account_id: r
                    .account_id
                    .filter(|a| !a.trim().is_empty())
                    .map(|a| format!("{}:{}", Source::Plaid.prefix(), a.trim())),
            })
        })?;
    Ok(SyncPage {
        added,
        modified,
        removed,
        accounts: page_accounts,
        next_cursor,
        has_more,
        rejected: rejections.rejected,
    })
}

fn transactions_of(
    list: &str,
    raws: &[&RawValue],
    accounts: &[UnifiedAccount],
    now: DateTime<Utc>,
    rejections: &mut Rejections,
) -> Result<Vec<UnifiedTransaction>, ConnectError> {
    each_record(list, raws, rejections, |record, t: Transaction| {
        let provider_id = text(record, "transaction_id", &t.transaction_id)?;
        let account_id = format!("{}:{}", Source::Plaid.prefix(), t.account_id.trim());
        let account = accounts.iter().find(|a| a.account_id == account_id).ok_or_else(|| {
            ConnectError::UnknownAccount {
                record: record.to_owned(),
                account_id: t.account_id.clone(),
            }
        })?;
        let asset =
            asset(record, t.iso_currency_code.as_deref(), t.unofficial_currency_code.as_deref())?;
        same_currency(record, asset, account.currency)?;
        let plaid_amount = money_minor(record, exact(record, &t.amount)?, asset)?;
        let amount_minor =
            plaid_amount.checked_neg().ok_or_else(|| ConnectError::InvalidAmount {
                record: record.to_owned(),
                value: t.amount.get().to_owned(),
                reason: "overflow".to_owned(),
            })?;
        let raw_name = t.name.or(t.original_description).unwrap_or_default();
        let description = description(record, &raw_name)?;
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
            provider_category: t.personal_finance_category.map(|c| ProviderCategory {
                provider: "PLAID".to_owned(),
                primary: c.primary,
                detailed: c.detailed,
                confidence: c.confidence_level,
            }),
            original: None,
        })
    })
}
