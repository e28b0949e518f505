//! Plaid, as its public OpenAPI description documents it: `/accounts/get`,
//! `/accounts/balance/get`, `/transactions/get`, `/transactions/sync`, `/liabilities/get`,
//! `/investments/holdings/get` and `/investments/transactions/get`.
//!
//! - **Signs.** Plaid reports a transaction's `amount` positive for money leaving the account;
//!   FOS flips it (negative = outflow). Plaid reports debt balances (credit and loan accounts)
//!   positive; FOS stores them negative.
//! - **Currencies and scales.** `iso_currency_code` is an ISO 4217 currency with its official
//!   minor unit. `unofficial_currency_code` (crypto, loyalty points) is a custom asset with the
//!   scale of [`unofficial_scale`] (BTC 8, ETH 18, …). A balance with more decimals than its
//!   currency's minor unit (a pension valued to 1/10,000 of a dollar) keeps the exact value in
//!   `balance_exact` and is rounded half-even into `balance_minor`; a transaction amount with
//!   more decimals than its currency can hold is refused (it is not money that can move).
//!   Investment quantities, prices and values are exact decimals.
//! - **Unknown is not zero.** A `null` `balances.current` is an unknown balance (`None`).
//! - **Provider categories.** `personal_finance_category` is kept in `provider_category`.
//! - **Pending → posted.** `pending_transaction_id` on a posted transaction names the pending one
//!   it replaces.
//! - **Partial success.** Every function reads what it can and reports each record it leaves out
//!   with its path and reason ([`Normalised`]), under the caller's [`BadRecordPolicy`].

mod investments;
mod liabilities;
mod transactions;

pub use investments::{Holdings, InvestmentActivity, holdings, investment_transactions};
pub use liabilities::liabilities;
pub use transactions::{SyncPage, sync, transactions};

use serde::Deserialize;
use serde_json::value::RawValue;

use super::amounts::{exact_opt, valuation};
use super::report::{BadRecordPolicy, Normalised, Rejections, each_record};
use super::{ConnectError, INPUT_BYTES_MAX, RECORDS_MAX, check_size, malformed, text};
use crate::fos::{AccountClass, AccountType, Source, UnifiedAccount};
use fintra_core::Asset;

/// The scale fintra gives an `unofficial_currency_code`: the asset's own smallest unit where it
/// is well known, 8 decimals otherwise.
pub fn unofficial_scale(code: &str) -> u8 {
    match code {
        "ETH" => 18,
        "SOL" => 9,
        "XRP" | "ADA" | "USDT" | "USDC" | "ALGO" => 6,
        _ => 8, // BTC, LTC, BCH, DOGE and unknown codes
    }
}

/// The asset of an ISO code or, failing that, an unofficial one.
pub(crate) fn asset(
    record: &str,
    iso: Option<&str>,
    unofficial: Option<&str>,
) -> Result<Asset, ConnectError> {
    match (iso.filter(|c| !c.trim().is_empty()), unofficial.filter(|c| !c.trim().is_empty())) {
        (Some(iso), _) => super::currency(record, iso),
        (None, Some(code)) => {
            let code = code.trim().to_ascii_uppercase();
            Asset::custom(&code, unofficial_scale(&code)).map_err(|_| {
                ConnectError::UnknownCurrency { record: record.to_owned(), code: code.clone() }
            })
        }
        (None, None) => Err(ConnectError::Invalid {
            record: record.to_owned(),
            reason: "neither iso_currency_code nor unofficial_currency_code".to_owned(),
        }),
    }
}

/// The lists a Plaid response may hold; each endpoint fills some.
#[derive(Deserialize, Default)]
pub(crate) struct Document {
    #[serde(default)]
    pub(crate) accounts: Vec<Box<RawValue>>,
    #[serde(default)]
    pub(crate) transactions: Vec<Box<RawValue>>,
    #[serde(default)]
    pub(crate) added: Vec<Box<RawValue>>,
    #[serde(default)]
    pub(crate) modified: Vec<Box<RawValue>>,
    #[serde(default)]
    pub(crate) removed: Vec<Box<RawValue>>,
    #[serde(default)]
    pub(crate) next_cursor: Option<String>,
    #[serde(default)]
    pub(crate) has_more: Option<bool>,
    #[serde(default)]
    pub(crate) holdings: Vec<Box<RawValue>>,
    #[serde(default)]
    pub(crate) securities: Vec<Box<RawValue>>,
    #[serde(default)]
    pub(crate) investment_transactions: Vec<Box<RawValue>>,
    #[serde(default)]
    pub(crate) liabilities: Option<Box<RawValue>>,
}

/// Parses the response envelope; the records inside are read one by one.
pub(crate) fn document(json: &[u8]) -> Result<Document, ConnectError> {
    check_size("input bytes", INPUT_BYTES_MAX, json.len())?;
    let document: Document = serde_json::from_slice(json).map_err(|e| malformed("document", &e))?;
    let lists = [
        ("accounts", document.accounts.len()),
        ("transactions", document.transactions.len()),
        ("added", document.added.len()),
        ("modified", document.modified.len()),
        ("removed", document.removed.len()),
        ("holdings", document.holdings.len()),
        ("securities", document.securities.len()),
        ("investment_transactions", document.investment_transactions.len()),
    ];
    for (what, len) in lists {
        check_size(what, RECORDS_MAX, len)?;
    }
    Ok(document)
}

pub(crate) fn raws(list: &[Box<RawValue>]) -> Vec<&RawValue> {
    list.iter().map(AsRef::as_ref).collect()
}

#[derive(Deserialize)]
struct Balances {
    current: Option<Box<RawValue>>,
    available: Option<Box<RawValue>>,
    iso_currency_code: Option<String>,
    unofficial_currency_code: Option<String>,
}

#[derive(Deserialize)]
struct Account {
    account_id: String,
    name: String,
    official_name: Option<String>,
    #[serde(rename = "type")]
    kind: String,
    subtype: Option<String>,
    balances: Balances,
}

/// FOS type of a Plaid `type`/`subtype`; a type Plaid adds later is kept as `Unknown`.
pub fn account_type(kind: &str, subtype: Option<&str>) -> AccountType {
    match (kind, subtype.unwrap_or("")) {
        ("depository", "savings" | "money market" | "cd" | "cash isa" | "isa" | "hsa") => {
            AccountType::Savings
        }
        ("depository", _) => AccountType::Checking,
        ("credit", _) => AccountType::CreditCard,
        ("loan", "mortgage" | "home equity") => AccountType::Mortgage,
        ("loan", _) => AccountType::Loan,
        ("investment" | "brokerage", "crypto exchange" | "non-custodial wallet") => {
            AccountType::CryptoWallet
        }
        ("investment" | "brokerage", _) => AccountType::Investment,
        ("other", _) => AccountType::OtherAsset,
        _ => AccountType::Unknown,
    }
}

/// Normalises the `accounts` of a Plaid response — `/accounts/get`, `/accounts/balance/get`, or
/// the accounts any other endpoint returns. `institution_id` is the Item's institution.
///
/// # Errors
/// [`ConnectError`] for a document that is not a Plaid response (or too large); under
/// [`BadRecordPolicy::FailDocument`] also the first bad account.
pub fn accounts(
    json: &[u8],
    institution_id: Option<&str>,
    policy: BadRecordPolicy,
) -> Result<Normalised<UnifiedAccount>, ConnectError> {
    let document = document(json)?;
    let mut rejections = Rejections::new(policy);
    let accounts = accounts_of(&raws(&document.accounts), institution_id, &mut rejections)?;
    Ok(rejections.finish(accounts))
}

pub(crate) fn accounts_of(
    raws: &[&RawValue],
    institution_id: Option<&str>,
    rejections: &mut Rejections,
) -> Result<Vec<UnifiedAccount>, ConnectError> {
    each_record("accounts", raws, rejections, |record, a: Account| {
        let id = text(record, "account_id", &a.account_id)?;
        let account_type = account_type(&a.kind, a.subtype.as_deref());
        let b = &a.balances;
        let asset =
            asset(record, b.iso_currency_code.as_deref(), b.unofficial_currency_code.as_deref())?;
        let class = account_type.class();
        let signed = |value: i128| match class {
            AccountClass::Liability => value.checked_neg(),
            AccountClass::Asset => Some(value),
        };
        let overflow = || ConnectError::InvalidAmount {
            record: record.to_owned(),
            value: "balance".to_owned(),
            reason: "overflow".to_owned(),
        };
        let (balance_minor, balance_exact) = match exact_opt(record, b.current.as_deref())? {
            None => (None, None),
            Some(current) => {
                let (minor, exact) = valuation(record, current, asset)?;
                let exact = exact.map(|e| if class == AccountClass::Liability { -e } else { e });
                (Some(signed(minor).ok_or_else(overflow)?), exact)
            }
        };
        let available = match exact_opt(record, b.available.as_deref())? {
            None => None,
            Some(value) => Some(valuation(record, value, asset)?.0),
        };
        let name =
            if a.name.trim().is_empty() { a.official_name.unwrap_or_default() } else { a.name };
        Ok(UnifiedAccount {
            account_id: format!("{}:{id}", Source::Plaid.prefix()),
            source: Source::Plaid,
            provider_account_id: id,
            institution_id: institution_id.map(str::to_owned),
            name: text(record, "name", &name)?,
            account_type,
            class,
            currency: asset,
            balance_minor,
            balance_exact,
            available_balance_minor: available,
        })
    })
}
