//! The response bodies, typed: what the OpenAPI document describes and what a Rust client can
//! deserialize into. Amounts are integer minor units of the profile's base currency.

use std::collections::BTreeMap;

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// Which event a number reflects (spec §2.8 provenance).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Provenance {
    /// The event's id.
    pub source_event_id: String,
    /// Its version in the profile's stream.
    pub source_version: u64,
    /// Its position in the global log.
    pub source_position: u64,
}

/// Net worth and its 30-day change.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NetWorth {
    /// Formatted (`GBP 1234.56`).
    pub total: String,
    /// Minor units.
    pub total_minor: i64,
    /// ISO 4217 code.
    pub currency: String,
    /// Change over 30 days, minor units.
    pub change_30d_minor: i64,
}

/// Assets, debt and the signed total of each balance-sheet group.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct BalanceSheet {
    /// Everything owned.
    pub total_assets_minor: i64,
    /// Everything owed, positive.
    pub total_debt_minor: i64,
    /// `CASH`, `INVESTMENTS`, `PROPERTY`, `CREDIT`, `LOANS`, … (debts negative).
    pub by_group: BTreeMap<String, i64>,
}

/// Cash-flow health.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CashFlow {
    /// `HEALTHY`, `WATCH` or `AT_RISK`.
    pub status: String,
    /// Liquid cash over daily burn; null without burn.
    pub days_runway: Option<i64>,
    /// Current-account cash minus bills due before the next income.
    pub safe_to_spend_minor: i64,
}

/// An alert or insight line.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Notice {
    /// `bill_upcoming`, `low_balance`, `saving_opportunity`, `salary_received`.
    #[serde(rename = "type")]
    pub kind: String,
    /// Human text.
    pub message: String,
}

/// The Unified 360 view (`GET /v1/profile/{id}`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Unified360 {
    /// The owning tenant.
    pub tenant_id: String,
    /// The day it is computed for (the latest transaction).
    pub as_of: NaiveDate,
    /// Net worth.
    pub net_worth: NetWorth,
    /// Assets and debt.
    pub balance_sheet: BalanceSheet,
    /// Cash flow.
    pub cash_flow: CashFlow,
    /// Things to act on.
    pub alerts: Vec<Notice>,
    /// Things worth knowing.
    pub insights: Vec<Notice>,
    /// 0–1000.
    pub solvency_score: u16,
    /// Provenance per section.
    #[serde(rename = "_meta")]
    pub meta: BTreeMap<String, Provenance>,
}

/// One point of the net-worth timeline.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NetWorthPoint {
    /// A month end (or the latest day).
    pub date: NaiveDate,
    /// Net worth that day.
    pub net_worth_minor: i64,
}

/// Net worth at every month end (`GET /v1/profile/{id}/networth`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NetWorthTimeline {
    /// The owning tenant.
    pub tenant_id: String,
    /// Oldest first.
    pub points: Vec<NetWorthPoint>,
    /// Provenance.
    #[serde(rename = "_meta")]
    pub meta: Provenance,
}

/// One category of a month's spend.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CategorySpend {
    /// Category path (`Food & Drink > Groceries`).
    pub category: String,
    /// Spend this month.
    pub spend_minor: i64,
    /// Spend the month before.
    pub previous_minor: i64,
    /// The difference.
    pub change_minor: i64,
}

/// Spend by category for one month.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct MonthSpend {
    /// The owning tenant.
    pub tenant_id: String,
    /// `YYYY-MM`.
    pub month: String,
    /// `YYYY-MM`.
    pub previous_month: String,
    /// This month's total.
    pub total_minor: i64,
    /// The previous month's total.
    pub previous_total_minor: i64,
    /// Per category.
    pub categories: Vec<CategorySpend>,
    /// Provenance.
    #[serde(rename = "_meta")]
    pub meta: Provenance,
}

/// Spend analysis over a range of months (`GET /v1/profile/{id}/spend`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SpendAnalysis {
    /// First month asked for (`YYYY-MM`).
    pub from: String,
    /// Last month asked for (`YYYY-MM`).
    pub to: String,
    /// The months that have spend, oldest first.
    pub months: Vec<MonthSpend>,
}

/// A detected recurring stream.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RecurringStream {
    /// `INCOME` or `EXPENSE`.
    #[serde(rename = "type")]
    pub flow: String,
    /// Counterparty.
    pub merchant: String,
    /// Category.
    pub category: String,
    /// `WEEKLY`, `MONTHLY`, …
    pub frequency: String,
    /// Expected amount, positive.
    pub amount_minor: i64,
    /// ISO 4217 code.
    pub currency: String,
    /// When the next one is due.
    pub next_expected_date: NaiveDate,
    /// 0–1: how regular.
    pub confidence_score: f64,
    /// Occurrences seen.
    pub occurrences: u64,
    /// The last one.
    pub last_date: NaiveDate,
}

/// Recurring income and bills (`GET /v1/profile/{id}/recurring`).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Recurring {
    /// The owning tenant.
    pub tenant_id: String,
    /// The day it is computed for.
    pub as_of: NaiveDate,
    /// The streams.
    pub streams: Vec<RecurringStream>,
    /// Average monthly income.
    pub monthly_income_minor: i64,
    /// Average monthly spending.
    pub monthly_burn_minor: i64,
    /// Average monthly essential spending.
    pub essential_spend_minor: i64,
    /// Income minus essential spending.
    pub free_cash_flow_minor: i64,
    /// Provenance.
    #[serde(rename = "_meta")]
    pub meta: Provenance,
}

/// One row of the transactions query.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TransactionRow {
    /// fintra's id.
    pub transaction_id: String,
    /// The account.
    pub account_id: String,
    /// Booking date.
    pub date: NaiveDate,
    /// Signed amount (negative = money out).
    pub amount_minor: i64,
    /// ISO 4217 code.
    pub currency: String,
    /// The provider's text.
    pub description: String,
    /// Cleaned merchant, when known.
    pub merchant: Option<String>,
    /// Full category path, when categorised.
    pub category: Option<String>,
    /// Top-level category, when categorised.
    pub category_l1: Option<String>,
}

/// A page of transactions (`GET /v1/profile/{id}/transactions`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TransactionPage {
    /// Newest first.
    pub transactions: Vec<TransactionRow>,
    /// Pass as `cursor` for the next page; null on the last one.
    pub next_cursor: Option<String>,
    /// The twin's stream version the page was read at.
    pub source_version: u64,
}
