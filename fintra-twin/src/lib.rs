//! # fintra-twin — the FintraOS domain on the fintra kernel
//!
//! - [`fos`]: the FintraOS Open Standard types (unified accounts and transactions, profiles,
//!   cash-flow streams, manual assets) with their asset/liability classification;
//! - [`connect`]: normalisers from Plaid JSON, Yapily JSON and bank CSV exports to FOS, staged
//!   imports, and provider routing by health;
//! - the Financial Twin: the [`Profile`] aggregate fed by Connect imports, the [`engines`] that
//!   derive net worth and cash flow from it, the Unified 360 summary, and time travel and what-if
//!   questions answered through the kernel's repository.
//!
//! Formulas: `docs/twin.md`; Connect's mappings: `docs/connect.md`.

mod amend;
pub mod connect;
pub mod engines;
mod events;
pub mod fos;
mod profile;

use chrono::{DateTime, Duration, NaiveDate, NaiveTime, Utc};
use serde::{Deserialize, Serialize};

pub use engines::{
    BalanceSheet, CashflowReport, CashflowStatus, balance_sheet, balance_sheet_on, cashflow,
    recurring_streams, solvency_score, spend_by_category,
};
pub use events::{ProfileCommand, ProfileEvent, ProfileRejection};
pub use profile::{
    AccountAnchor, IMPORT_EVENT_TRANSACTIONS_MAX, IMPORT_EVENTS_MAX, IMPORT_TRANSACTIONS_MAX,
    ImportPlan, Profile, ProfileInfo, TwinAccount, TwinTransaction,
};

use crate::fos::FlowType;
use fintra_core::{AsOf, Asset, Codec, Error, EventStore, Repository, Result, StreamId};

/// Everything the engines say about a twin on one day.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct TwinReport {
    /// The day.
    pub today: NaiveDate,
    /// Stock of wealth.
    pub balance_sheet: BalanceSheet,
    /// Flow of wealth.
    pub cashflow: CashflowReport,
    /// 0–1000.
    pub solvency_score: u16,
}

/// Runs every engine on `profile` as of `today`.
pub fn report(profile: &Profile, today: NaiveDate) -> TwinReport {
    let sheet = balance_sheet(profile);
    let flow = cashflow(profile, today);
    let score = solvency_score(profile, &sheet, &flow, today);
    TwinReport { today, balance_sheet: sheet, cashflow: flow, solvency_score: score }
}

/// `net_worth` of the Unified 360 view (spec §2.8).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct NetWorthSummary {
    /// Net worth, minor units.
    pub total_minor: i128,
    /// Currency.
    pub currency: Asset,
    /// Change over the last 30 days, minor units.
    pub change_30d_minor: i128,
}

/// `cash_flow` of the Unified 360 view.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct CashFlowSummary {
    /// HEALTHY / WATCH / AT_RISK.
    pub status: CashflowStatus,
    /// Days of runway.
    pub days_runway: Option<i64>,
    /// Safe to spend, minor units.
    pub safe_to_spend_minor: i128,
}

/// An alert or insight line.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Notice {
    /// `bill_upcoming`, `low_balance`, `saving_opportunity`, `salary_received`.
    #[serde(rename = "type")]
    pub kind: String,
    /// Human text.
    pub message: String,
}

/// The Unified 360 profile summary (spec §2.8).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Unified360 {
    /// Net worth and its 30-day change.
    pub net_worth: NetWorthSummary,
    /// Cash-flow status.
    pub cash_flow: CashFlowSummary,
    /// Things to act on.
    pub alerts: Vec<Notice>,
    /// Things worth knowing.
    pub insights: Vec<Notice>,
}

/// Builds the Unified 360 summary from today's report and the net worth 30 days earlier.
pub fn unified_360(now: &TwinReport, net_worth_30d_ago_minor: i128) -> Unified360 {
    let sheet = &now.balance_sheet;
    let flow = &now.cashflow;
    let money = |minor: i128| fintra_core::Money::new(minor, sheet.currency).to_string();
    let mut alerts = Vec::new();
    for s in flow.streams.iter().filter(|s| s.flow == FlowType::Expense) {
        let days = (s.next_expected_date - now.today).num_days();
        if (0..=7).contains(&days) {
            alerts.push(Notice {
                kind: "bill_upcoming".into(),
                message: format!(
                    "{} {} due {}",
                    s.merchant,
                    money(s.amount_minor),
                    s.next_expected_date
                ),
            });
        }
    }
    if flow.safe_to_spend_minor < 0 {
        alerts.push(Notice {
            kind: "low_balance".into(),
            message: format!(
                "bills due before the next income exceed the current account by {}",
                money(-flow.safe_to_spend_minor)
            ),
        });
    }
    let mut insights = Vec::new();
    if let Some(salary) = flow.streams.iter().find(|s| s.flow == FlowType::Income) {
        insights.push(Notice {
            kind: "salary_received".into(),
            message: format!(
                "{} of {} {:?} (confidence {:.2}), next {}",
                salary.merchant,
                money(salary.amount_minor),
                salary.frequency,
                salary.confidence_score,
                salary.next_expected_date
            ),
        });
    }
    let cash = sheet.by_group.get(&crate::fos::BalanceGroup::Cash).copied().unwrap_or(0);
    let idle = cash - 3 * flow.monthly_burn_minor;
    if flow.monthly_burn_minor > 0 && idle > 0 {
        insights.push(Notice {
            kind: "saving_opportunity".into(),
            message: format!(
                "{} of cash beyond three months of spending could earn interest",
                money(idle)
            ),
        });
    }
    Unified360 {
        net_worth: NetWorthSummary {
            total_minor: sheet.net_worth_minor,
            currency: sheet.currency,
            change_30d_minor: sheet.net_worth_minor - net_worth_30d_ago_minor,
        },
        cash_flow: CashFlowSummary {
            status: flow.status,
            days_runway: flow.days_runway,
            safe_to_spend_minor: flow.safe_to_spend_minor,
        },
        alerts,
        insights,
    }
}

/// The end of `day` (the last microsecond), for "as of that day" questions. Never panics, on
/// chrono's last day either.
pub fn end_of_day(day: NaiveDate) -> DateTime<Utc> {
    let start = day.and_time(NaiveTime::MIN).and_utc();
    start
        .checked_add_signed(Duration::days(1) - Duration::microseconds(1))
        .unwrap_or(DateTime::<Utc>::MAX_UTC)
}

/// The twin as it was at the end of `day` on the effective timeline (spec §4.16).
///
/// # Errors
/// Store and codec errors.
pub async fn as_of<S: EventStore, C: Codec<ProfileEvent>>(
    repository: &Repository<Profile, S, C>,
    stream: &StreamId,
    day: NaiveDate,
) -> Result<Profile> {
    Ok(repository.load_as_of(stream, AsOf::Occurred(end_of_day(day))).await?.state)
}

/// Net worth at the end of each day in `days`, by time travel.
///
/// # Errors
/// Store and codec errors.
pub async fn net_worth_timeline<S: EventStore, C: Codec<ProfileEvent>>(
    repository: &Repository<Profile, S, C>,
    stream: &StreamId,
    days: &[NaiveDate],
) -> Result<Vec<(NaiveDate, i128)>> {
    let mut out = Vec::with_capacity(days.len());
    for day in days {
        let profile = as_of(repository, stream, *day).await?;
        out.push((*day, balance_sheet(&profile).net_worth_minor));
    }
    Ok(out)
}

/// One edit of history for a what-if question (spec §4.17).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum WhatIf {
    /// As if this transaction had never happened.
    Without {
        /// Its fintra id.
        transaction_id: String,
    },
    /// As if every income transaction from this merchant, from this date on, had been
    /// `percent` larger (a salary rise).
    IncomeRaise {
        /// The payer (cleaned merchant name).
        merchant: String,
        /// First affected booking date.
        from: NaiveDate,
        /// The rise, in percent (integer arithmetic, rounded down to the minor unit).
        percent: u32,
    },
}

/// The twin's report on the live history and on the edited one.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct WhatIfReport {
    /// Net worth, live.
    pub net_worth_live_minor: i128,
    /// Net worth in the branch.
    pub net_worth_branch_minor: i128,
    /// Free cash flow, live.
    pub free_cash_flow_live_minor: i128,
    /// Free cash flow in the branch.
    pub free_cash_flow_branch_minor: i128,
    /// Events edited in the branch.
    pub events_edited: usize,
}

/// Forks the live stream, applies `edit`, replays the branch in memory (never touching the live
/// stream) and compares both twins as of `today`.
///
/// # Errors
/// `NotFound` when the edit matches nothing; store and codec errors.
pub async fn what_if<S: EventStore, C: Codec<ProfileEvent>>(
    repository: &Repository<Profile, S, C>,
    stream: &StreamId,
    edit: &WhatIf,
    today: NaiveDate,
) -> Result<WhatIfReport> {
    let live = repository.load(stream).await?.state;
    let mut fork = repository.fork(stream).await?;
    let mut edits = Vec::new();
    for event in fork.events() {
        let ProfileEvent::TransactionsImported { import_id, source, date, transactions } =
            serde_json::from_slice::<ProfileEvent>(&event.payload).map_err(|e| Error::Codec {
                event_type: event.event_type.clone(),
                schema_version: event.schema_version,
                source: e.into(),
            })?
        else {
            continue;
        };
        let mut edited = transactions.clone();
        match edit {
            WhatIf::Without { transaction_id } => {
                edited.retain(|t| &t.transaction_id != transaction_id)
            }
            WhatIf::IncomeRaise { merchant, from, percent } => {
                for t in edited.iter_mut().filter(|t| t.date >= *from && t.amount_minor > 0) {
                    let payer = t.enrichment.as_ref().and_then(|e| e.merchant_name.as_deref());
                    if payer == Some(merchant.as_str()) {
                        t.amount_minor += t.amount_minor * i128::from(*percent) / 100;
                    }
                }
            }
        }
        if edited != transactions {
            edits.push((
                event.event_id,
                ProfileEvent::TransactionsImported {
                    import_id,
                    source,
                    date,
                    transactions: edited,
                },
            ));
        }
    }
    if edits.is_empty() {
        return Err(Error::NotFound { what: format!("nothing in {stream} matches {edit:?}") });
    }
    let events_edited = edits.len();
    for (event_id, replacement) in &edits {
        fork = fork.replacing(*event_id, replacement)?;
    }
    let branch = fork.build().await?;
    let (live_report, branch_report) = (report(&live, today), report(branch.state(), today));
    Ok(WhatIfReport {
        net_worth_live_minor: live_report.balance_sheet.net_worth_minor,
        net_worth_branch_minor: branch_report.balance_sheet.net_worth_minor,
        free_cash_flow_live_minor: live_report.cashflow.free_cash_flow_minor,
        free_cash_flow_branch_minor: branch_report.cashflow.free_cash_flow_minor,
        events_edited,
    })
}

#[cfg(doctest)]
#[doc = include_str!("../../docs/twin.md")]
struct TwinGuide;

#[cfg(doctest)]
#[doc = include_str!("../../docs/connect.md")]
struct ConnectGuide;
