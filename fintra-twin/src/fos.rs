//! The FintraOS Standard (FOS) domain types, with the spec's field names (spec §2).
//!
//! Money is integer minor units (`*_minor`) plus an [`Asset`]; dates at the boundary are ISO-8601
//! (`YYYY-MM-DD` for booking dates, RFC 3339 UTC for instants). Enums serialize in the spec's
//! SCREAMING_SNAKE form (`CREDIT_CARD`, `POSTED`).

use std::collections::BTreeMap;

use chrono::{DateTime, NaiveDate, Utc};
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
            Self::OtherAsset => BalanceGroup::OtherAssets,
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
    /// Current balance in minor units, signed: liabilities negative.
    pub balance_minor: i128,
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

/// Who set an enriched field (lineage, spec §4.21).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Lineage {
    /// `PROVIDER` (the source's own field), `RULES_V1` (fintra's rules), `USER`, or a model name.
    pub source: String,
    /// When it was set.
    pub updated_at: DateTime<Utc>,
}

/// Cleaned merchant, category and recurrence (spec §2.4).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Enrichment {
    /// The cleaned merchant name ("Starbucks").
    pub merchant_name: Option<String>,
    /// Hierarchical category, levels joined by " > " ("Food & Drink > Coffee").
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
