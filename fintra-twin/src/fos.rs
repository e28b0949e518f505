//! The FintraOS Standard (FOS) domain types, with the spec's field names (spec §2).
//!
//! Money is integer minor units (`*_minor`) plus an [`Asset`]; dates at the boundary are ISO-8601
//! (`YYYY-MM-DD` for booking dates, RFC 3339 UTC for instants). Enums serialize in the spec's
//! SCREAMING_SNAKE form (`CREDIT_CARD`, `POSTED`).

use std::collections::BTreeMap;

use chrono::{DateTime, NaiveDate, Utc};
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

use fintra_core::Asset;

/// Where data came from.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum Source {
    /// Plaid.
    Plaid,
    /// Yapily.
    Yapily,
    /// A CSV export.
    Csv,
    /// Entered by hand.
    Manual,
}

impl Source {
    /// The lower-case prefix of ids from this source (`plaid:…`).
    pub fn prefix(self) -> &'static str {
        match self {
            Self::Plaid => "plaid",
            Self::Yapily => "yapily",
            Self::Csv => "csv",
            Self::Manual => "manual",
        }
    }
}

/// The FOS account types (spec §2.3).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum AccountType {
    /// A current / checking account.
    Checking,
    /// A savings account.
    Savings,
    /// A credit card.
    CreditCard,
    /// A loan.
    Loan,
    /// A mortgage.
    Mortgage,
    /// A brokerage or pension account.
    Investment,
    /// A crypto wallet.
    CryptoWallet,
    /// Real estate.
    Property,
    /// Anything else of value.
    OtherAsset,
    /// A type the provider did not say (Yapily `UNKNOWN`) or fintra cannot classify: kept, with
    /// this status, and counted as an asset; never a reason to refuse the import.
    Unknown,
}

impl AccountType {
    /// Asset or liability, as the balance sheet counts it.
    pub fn class(self) -> AccountClass {
        match self {
            Self::CreditCard | Self::Loan | Self::Mortgage => AccountClass::Liability,
            _ => AccountClass::Asset,
        }
    }

    /// The balance-sheet group (spec §4.4: cash, investments, property; loans, credit cards).
    pub fn group(self) -> BalanceGroup {
        match self {
            Self::Checking | Self::Savings => BalanceGroup::Cash,
            Self::Investment | Self::CryptoWallet => BalanceGroup::Investments,
            Self::Property => BalanceGroup::Property,
            Self::OtherAsset | Self::Unknown => BalanceGroup::OtherAssets,
            Self::CreditCard => BalanceGroup::CreditCards,
            Self::Loan | Self::Mortgage => BalanceGroup::Loans,
        }
    }
}

/// Asset or liability.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum AccountClass {
    /// Owned value; balance ≥ 0 normally.
    Asset,
    /// Debt; stored negative (spec §4.2).
    Liability,
}

/// Balance-sheet groups.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum BalanceGroup {
    /// Current and savings accounts.
    Cash,
    /// Investments and crypto.
    Investments,
    /// Property (accounts and manual assets).
    Property,
    /// Other assets.
    OtherAssets,
    /// Credit cards.
    CreditCards,
    /// Loans and mortgages.
    Loans,
}

/// A container for value (spec §2.3).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct UnifiedAccount {
    /// fintra's id: `<source>:<provider account id>`.
    pub account_id: String,
    /// Where it came from.
    pub source: Source,
    /// The provider's own id.
    pub provider_account_id: String,
    /// The institution, when known.
    pub institution_id: Option<String>,
    /// Display name.
    pub name: String,
    /// FOS type.
    #[serde(rename = "type")]
    pub account_type: AccountType,
    /// Asset or liability (derived from the type).
    pub class: AccountClass,
    /// The account's currency.
    pub currency: Asset,
    /// Current balance in minor units, signed: liabilities negative. `None` when the provider
    /// did not say (a `null` balance is unknown, never 0).
    pub balance_minor: Option<i128>,
    /// The provider's exact balance, when it has more decimals than the currency's minor unit
    /// (a pension valued to 1/10,000 of a dollar): `balance_minor` is then this value rounded
    /// half-even to the minor unit.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub balance_exact: Option<Decimal>,
    /// Available balance (checking accounts), when the source gives it.
    pub available_balance_minor: Option<i128>,
}

/// PENDING or POSTED.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum TransactionStatus {
    /// Authorised, not yet settled.
    Pending,
    /// Settled.
    Posted,
}

/// Recurrence of a transaction (spec §2.4).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum Recurrence {
    /// Weekly.
    Weekly,
    /// Monthly.
    Monthly,
    /// A subscription (monthly, fixed amount, to a service).
    Subscription,
}

/// Who set an enriched field (lineage, spec §2.8 and §4.21), serialised as `_meta` wherever the
/// enrichment is (events, the transactions query).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Lineage {
    /// `PROVIDER` (the source's own field), `FINTRA_BASIC` (Connect's direction default),
    /// `USER` (a person's correction), or the Brain's deciding layer (`BRAIN:merchant_truth`;
    /// its version is in `version`).
    pub source: String,
    /// When it was set.
    pub updated_at: DateTime<Utc>,
    /// How sure the setter was, when it says.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub confidence: Option<Confidence>,
    /// The version of the model or rule set that decided (`cascade-1`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub version: Option<String>,
    /// The catalogue merchant the setter resolved, when it resolved one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub merchant_id: Option<String>,
}

impl Lineage {
    /// Lineage of `source` at `updated_at`, with no confidence, version or merchant id.
    pub fn new(source: impl Into<String>, updated_at: DateTime<Utc>) -> Self {
        Self {
            source: source.into(),
            updated_at,
            confidence: None,
            version: None,
            merchant_id: None,
        }
    }

    /// True when a person set the field (a user's correction outranks every automatic one).
    pub fn is_user(&self) -> bool {
        self.source == USER_SOURCE
    }
}

/// The lineage source of a person's own correction.
pub const USER_SOURCE: &str = "USER";

/// A confidence in `[0, 1]`, kept exactly in basis points (so events compare and hash exactly)
/// and written as a decimal (`0.9512`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Confidence(u16);

impl Confidence {
    /// Certain.
    pub const CERTAIN: Self = Self(10_000);

    /// `value` rounded to basis points; out-of-range values are clamped and NaN is 0.
    pub fn new(value: f64) -> Self {
        let clamped = if value.is_nan() { 0.0 } else { value.clamp(0.0, 1.0) };
        // In [0, 10_000] after the clamp: the cast cannot truncate or change sign.
        #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
        let bp = (clamped * 10_000.0).round() as u16;
        Self(bp)
    }

    /// The value in `[0, 1]`.
    pub fn value(self) -> f64 {
        f64::from(self.0) / 10_000.0
    }

    /// Basis points, 0–10,000.
    pub fn basis_points(self) -> u16 {
        self.0
    }
}

impl Serialize for Confidence {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_f64(self.value())
    }
}

impl<'de> Deserialize<'de> for Confidence {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let value = f64::deserialize(deserializer)?;
        if !(0.0..=1.0).contains(&value) {
            return Err(serde::de::Error::custom(format!("confidence {value} is outside [0, 1]")));
        }
        Ok(Self::new(value))
    }
}

/// Cleaned merchant, category and recurrence (spec §2.4).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Enrichment {
    /// The cleaned merchant name ("Starbucks").
    pub merchant_name: Option<String>,
    /// Hierarchical category, levels joined by " > " ("Eating Out > Coffee").
    pub category: String,
    /// Recurrence, once detected.
    pub recurrence: Option<Recurrence>,
    /// Who set these fields.
    #[serde(rename = "_meta")]
    pub lineage: Lineage,
}

impl Enrichment {
    /// The top category level (`category_l1`).
    pub fn category_l1(&self) -> &str {
        self.category.split(" > ").next().unwrap_or(&self.category)
    }

    /// True when `other` says the same merchant and category from the same source and version
    /// (when it was set aside): recategorising to it would change nothing.
    pub fn same_decision(&self, other: &Self) -> bool {
        self.merchant_name == other.merchant_name
            && self.category == other.category
            && self.lineage.source == other.lineage.source
            && self.lineage.version == other.lineage.version
            && self.lineage.merchant_id == other.lineage.merchant_id
            && self.lineage.confidence == other.lineage.confidence
    }
}

/// An atomic movement of value (spec §2.4).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct UnifiedTransaction {
    /// fintra's id: `<source>:<provider transaction id>`.
    pub transaction_id: String,
    /// The account (`UnifiedAccount::account_id`).
    pub account_id: String,
    /// The dedup key (spec §4.3).
    pub provider_transaction_id: String,
    /// For a posted transaction, the pending one it replaces.
    pub pending_transaction_id: Option<String>,
    /// Signed minor units: negative = outflow.
    pub amount_minor: i128,
    /// Currency.
    pub currency: Asset,
    /// PENDING or POSTED.
    pub status: TransactionStatus,
    /// Booking date.
    pub date: NaiveDate,
    /// The raw description as the source sent it.
    pub description: String,
    /// Running balance after posting, when the source gives it.
    pub balance_after_minor: Option<i128>,
    /// Cleaned merchant and category.
    pub enrichment: Option<Enrichment>,
    /// The provider's own category (Plaid's `personal_finance_category`), kept as a signal for
    /// the Brain's cascade; fintra's own category is in `enrichment`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub provider_category: Option<ProviderCategory>,
    /// The amount in the currency it was spent in, when that is not the account's (a euro
    /// payment from a sterling account): `amount_minor` is what the account was charged.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub original: Option<ForeignAmount>,
}

impl UnifiedTransaction {
    /// True when `other` says the same as this about the movement itself: every field but
    /// `enrichment`, which fintra derives (and stamps with the time it ran) rather than the
    /// provider sending it. A provider re-sending a transaction unchanged is not an amendment.
    pub fn same_provider_facts(&self, other: &Self) -> bool {
        let strip = |t: &Self| Self { enrichment: None, ..t.clone() };
        strip(self) == strip(other)
    }
}

/// A provider's own classification of a transaction.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProviderCategory {
    /// The provider (`PLAID`).
    pub provider: String,
    /// Its top level (`FOOD_AND_DRINK`).
    pub primary: String,
    /// Its detailed level (`FOOD_AND_DRINK_COFFEE`).
    pub detailed: Option<String>,
    /// Its own confidence (`VERY_HIGH`, `HIGH`, `MEDIUM`, `LOW`, `UNKNOWN`).
    pub confidence: Option<String>,
}

/// An amount in another currency than the account's, exactly as the provider gave it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ForeignAmount {
    /// The amount, signed like `amount_minor`.
    pub amount: Decimal,
    /// Its currency (or custom asset).
    pub currency: Asset,
}

/// A transaction the provider withdrew (Plaid `transactions/sync` `removed`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct RemovedTransaction {
    /// fintra's id of the withdrawn transaction.
    pub transaction_id: String,
    /// Its account, when the provider says.
    pub account_id: Option<String>,
}

/// A security held or traded in an investment account.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Security {
    /// fintra's id: `<source>:<provider security id>`.
    pub security_id: String,
    /// Its name, when known.
    pub name: Option<String>,
    /// Its ticker, when it has one.
    pub ticker: Option<String>,
    /// The provider's type (`equity`, `etf`, `mutual fund`, `cash`, `cryptocurrency`, …).
    #[serde(rename = "type")]
    pub security_type: String,
    /// ISIN, when given.
    pub isin: Option<String>,
    /// The currency (or custom asset) it is priced in.
    pub currency: Asset,
    /// The last close price, exactly as given.
    pub close_price: Option<Decimal>,
    /// The day of that close.
    pub close_price_as_of: Option<NaiveDate>,
}

/// A position in a security (spec §2.3: holdings of investment accounts).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Holding {
    /// The account (`UnifiedAccount::account_id`).
    pub account_id: String,
    /// The security (`Security::security_id`).
    pub security_id: String,
    /// Units held, exactly (fractional shares, crypto).
    pub quantity: Decimal,
    /// Price per unit, exactly.
    pub price: Decimal,
    /// The position's value in `currency`, exactly.
    pub value: Decimal,
    /// What it cost, when known.
    pub cost_basis: Option<Decimal>,
    /// The currency of price, value and cost basis.
    pub currency: Asset,
}

/// A trade or cash movement in an investment account.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct InvestmentTransaction {
    /// fintra's id: `<source>:<provider id>`.
    pub transaction_id: String,
    /// The account.
    pub account_id: String,
    /// The security, when the movement involves one.
    pub security_id: Option<String>,
    /// Trade date.
    pub date: NaiveDate,
    /// The provider's description.
    pub description: String,
    /// The provider's type and subtype (`buy/buy`, `cash/dividend`, `fee/account fee`, …).
    pub kind: String,
    /// Units traded (negative for a sale where the provider says so), exactly.
    pub quantity: Decimal,
    /// Price per unit, exactly.
    pub price: Decimal,
    /// Cash effect on the account, signed: negative = cash out (a buy), exactly.
    pub amount: Decimal,
    /// Fees, exactly, when given.
    pub fees: Option<Decimal>,
    /// Currency of price, amount and fees.
    pub currency: Asset,
}

/// Terms of a debt account (Plaid `liabilities/get`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct LiabilityTerms {
    /// The account.
    pub account_id: String,
    /// `CREDIT`, `MORTGAGE` or `STUDENT`.
    pub kind: String,
    /// The annual interest rate in percent (purchase APR for cards), exactly.
    pub interest_rate_percent: Option<Decimal>,
    /// The minimum (or next monthly) payment, minor units.
    pub minimum_payment_minor: Option<i128>,
    /// When the next payment is due.
    pub next_payment_due: Option<NaiveDate>,
    /// The last statement's balance, minor units.
    pub last_statement_balance_minor: Option<i128>,
    /// The amount originally borrowed, minor units.
    pub origination_principal_minor: Option<i128>,
    /// When the debt ends, when it has an end.
    pub maturity_date: Option<NaiveDate>,
    /// Whether a payment is overdue, when the provider says.
    pub is_overdue: Option<bool>,
    /// The currency of the amounts.
    pub currency: Asset,
}

/// INCOME or EXPENSE.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum FlowType {
    /// Money in.
    Income,
    /// Money out.
    Expense,
}

/// How often a cash-flow stream recurs.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum Frequency {
    /// Every 7 days.
    Weekly,
    /// Every 14 days.
    Biweekly,
    /// Every 28 days (pay on every fourth Friday).
    FourWeekly,
    /// Every month.
    Monthly,
    /// Every 3 months.
    Quarterly,
    /// Every year.
    Annual,
}

/// A detected recurring pattern (spec §2.5).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct CashflowStream {
    /// INCOME or EXPENSE.
    #[serde(rename = "type")]
    pub flow: FlowType,
    /// The counterparty (cleaned merchant or description).
    pub merchant: String,
    /// Category of its transactions.
    pub category: String,
    /// How often.
    pub frequency: Frequency,
    /// The expected amount (median of the last three), positive, in minor units.
    pub amount_minor: i128,
    /// Currency.
    pub currency: Asset,
    /// When the next one is due.
    pub next_expected_date: NaiveDate,
    /// 0..=1: how regular the dates and amounts are.
    pub confidence_score: f64,
    /// How many occurrences it is based on.
    pub occurrences: usize,
    /// The last occurrence.
    pub last_date: NaiveDate,
}

/// A probabilistic future balance (spec §2.5).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Forecast {
    /// The day forecast.
    pub target_date: NaiveDate,
    /// Expected balance, minor units.
    pub predicted_balance_minor: i128,
    /// Lower bound, minor units.
    pub lower_bound_minor: i128,
    /// Upper bound, minor units.
    pub upper_bound_minor: i128,
}

/// A manually entered asset (spec §2.5).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ManualAsset {
    /// Its id.
    pub asset_id: String,
    /// `REAL_ESTATE`, `VEHICLE`, `ART`, `CASH`, …
    #[serde(rename = "type")]
    pub asset_type: String,
    /// Display name.
    pub name: String,
    /// Currency.
    pub currency: Asset,
    /// Current value, minor units.
    pub value_minor: i128,
    /// When it was last valued.
    pub valuation_date: NaiveDate,
    /// Free-form attributes (`address`, `purchase_date`).
    #[serde(default)]
    pub attributes: BTreeMap<String, String>,
}

/// A connection's state (spec §2.5).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum ConnectionStatus {
    /// Syncing.
    Active,
    /// In the auth flow.
    Pending,
    /// Sync failed (bank down).
    Error,
    /// Consent expired; needs re-auth.
    Expired,
    /// The user revoked it.
    Disconnected,
}

/// A link to an institution through a provider (the "Item", spec §2.5).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Connection {
    /// Its id.
    pub connection_id: String,
    /// Tenant.
    pub tenant_id: String,
    /// The end user.
    pub user_id: String,
    /// Provider name (`PLAID_UK`).
    pub provider: String,
    /// Institution (`ins_barclays`).
    pub institution_id: String,
    /// State.
    pub status: ConnectionStatus,
    /// The last error, when `ERROR`.
    pub error_code: Option<String>,
    /// Last successful sync.
    pub last_synced_at: Option<DateTime<Utc>>,
    /// When consent lapses.
    pub consent_expires_at: Option<DateTime<Utc>>,
}
