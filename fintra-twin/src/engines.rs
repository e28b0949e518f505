//! The twin's engines: balance sheet, cash flow (recurring streams, burn, free cash flow,
//! safe-to-spend, runway) and a solvency score. Every formula is documented in `docs/twin.md`
//! and tested on hand-checked cases; all money arithmetic is integer minor units.

use std::collections::BTreeMap;

use chrono::{Datelike, Duration, Months, NaiveDate};
use serde::{Deserialize, Serialize};

use super::profile::{Profile, TwinTransaction};

mod schedule;
use crate::fos::{
    AccountClass, AccountType, BalanceGroup, CashflowStream, FlowType, Frequency, Recurrence,
};
use fintra_core::Asset;
pub use schedule::payment_schedule;
use schedule::{classify_gap, next_after, next_payment, nominal_days};

/// The stock of wealth (spec §4.4), in the profile's base currency.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct BalanceSheet {
    /// The base currency.
    pub currency: Asset,
    /// Assets minus debt.
    pub net_worth_minor: i128,
    /// Sum of asset balances and manual asset values.
    pub total_assets_minor: i128,
    /// What is owed, as a positive amount.
    pub total_debt_minor: i128,
    /// Signed totals per group (debts negative).
    pub by_group: BTreeMap<BalanceGroup, i128>,
    /// Accounts and assets in another currency, left out (no FX rates in the twin).
    pub unconverted: Vec<String>,
    /// Accounts whose provider gave no balance, left out (an unknown balance is not zero).
    #[serde(default)]
    pub unknown_balance: Vec<String>,
}

/// Sums accounts (with the balance to count) and manual assets (with the value to count) into a
/// sheet in `currency`; anything in another currency is listed as unconverted.
fn assemble<'a>(
    currency: Asset,
    accounts: impl Iterator<Item = (&'a crate::fos::UnifiedAccount, i128)>,
    manual: impl Iterator<Item = (&'a crate::fos::ManualAsset, i128)>,
) -> BalanceSheet {
    let mut by_group: BTreeMap<BalanceGroup, i128> = BTreeMap::new();
    let (mut unconverted, mut unknown_balance) = (Vec::new(), Vec::new());
    let (mut assets, mut debt) = (0i128, 0i128);
    for (account, balance) in accounts {
        if account.balance_minor.is_none() {
            unknown_balance.push(account.account_id.clone());
            continue;
        }
        if account.currency != currency {
            unconverted.push(account.account_id.clone());
            continue;
        }
        *by_group.entry(account.account_type.group()).or_default() += balance;
        match account.class {
            AccountClass::Asset => assets = assets.saturating_add(balance),
            AccountClass::Liability => debt = debt.saturating_sub(balance),
        }
    }
    for (asset, value) in manual {
        if asset.currency != currency {
            unconverted.push(asset.asset_id.clone());
            continue;
        }
        let group = if asset.asset_type == "REAL_ESTATE" {
            BalanceGroup::Property
        } else {
            BalanceGroup::OtherAssets
        };
        *by_group.entry(group).or_default() += value;
        assets = assets.saturating_add(value);
    }
    BalanceSheet {
        currency,
        net_worth_minor: assets.saturating_sub(debt),
        total_assets_minor: assets,
        total_debt_minor: debt,
        by_group,
        unconverted,
        unknown_balance,
    }
}

fn base_currency(profile: &Profile) -> Asset {
    profile.info.as_ref().map_or(Asset::USD, |i| i.base_currency)
}

/// Net worth, debt and groups from account balances and manual assets.
pub fn balance_sheet(profile: &Profile) -> BalanceSheet {
    assemble(
        base_currency(profile),
        profile.accounts().map(|t| (&t.account, t.balance_minor)),
        profile.manual_assets().map(|a| (a, a.value_minor)),
    )
}

/// The balance sheet at the end of `day`, computed from the current state without reloading the
/// stream: each account's opening balance plus its posted, uncorrected transactions booked by
/// then (accounts opened later are left out), and each manual asset's latest valuation by then.
/// Equal to [`balance_sheet`] of the twin time-travelled to that day (tested); corrections
/// recorded after `day` are applied, as on the effective timeline.
pub fn balance_sheet_on(profile: &Profile, day: NaiveDate) -> BalanceSheet {
    let mut balances: BTreeMap<&str, i128> = profile
        .accounts()
        .filter(|t| t.opened_on.is_none_or(|d| d <= day))
        .map(|t| (t.account.account_id.as_str(), t.opening_balance_minor))
        .collect();
    for t in profile.transactions().filter(|t| t.is_effective_posted() && t.transaction.date <= day)
    {
        if let Some(balance) = balances.get_mut(t.transaction.account_id.as_str()) {
            *balance = balance.saturating_add(t.transaction.amount_minor);
        }
    }
    let accounts = profile.accounts().filter_map(|t| {
        balances.get(t.account.account_id.as_str()).map(|balance| (&t.account, *balance))
    });
    let manual = profile.manual_assets().filter_map(|a| {
        let history = profile.valuations(&a.asset_id)?;
        history.range(..=day).next_back().map(|(_, value)| (a, *value))
    });
    assemble(base_currency(profile), accounts, manual)
}

/// Spending (outflows, net of refunds) per category in the calendar month of `month`, with the
/// same rules as [`cashflow`]'s burn.
pub fn spend_by_category(profile: &Profile, month: NaiveDate) -> BTreeMap<String, i128> {
    let currency = base_currency(profile);
    let start = first_of_month(month);
    let mut out: BTreeMap<String, i128> = BTreeMap::new();
    for (t, category) in spending_view(profile, currency) {
        let tx = &t.transaction;
        if first_of_month(tx.date) != start {
            continue;
        }
        match l1(category) {
            _ if is_transfer(category) => {}
            _ if is_refund(category) && tx.amount_minor > 0 => {
                *out.entry(category.to_owned()).or_default() -= tx.amount_minor
            }
            "Transfers" | "Income" => {}
            _ if tx.amount_minor < 0 => {
                *out.entry(category.to_owned()).or_default() -= tx.amount_minor
            }
            _ => {}
        }
    }
    out
}

/// A refund lowers spending instead of counting as income: the Brain files it `Income > Refund`
/// (earlier twins had a `Refunds` primary).
fn is_refund(category: &str) -> bool {
    category == REFUND || l1(category) == "Refunds"
}

/// Money moving between the person's own accounts: a transfer, or a credit-card repayment (the
/// purchases it pays for were counted when made).
fn is_transfer(category: &str) -> bool {
    l1(category) == "Transfers" || category == CARD_REPAYMENT
}

/// The Brain's category of a credit-card repayment.
const CARD_REPAYMENT: &str = "Loans > Credit Card";

/// The Brain's category of money back from a merchant.
const REFUND: &str = "Income > Refund";

/// HEALTHY, WATCH or AT_RISK (the Unified 360 `cash_flow.status`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum CashflowStatus {
    /// Positive free cash flow and at least 60 days of runway.
    Healthy,
    /// Non-negative free cash flow or at least 30 days of runway.
    Watch,
    /// Neither.
    AtRisk,
}

/// The flow of wealth (spec §4.5) over the last complete months before `today`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct CashflowReport {
    /// The base currency.
    pub currency: Asset,
    /// The day the report is for.
    pub today: NaiveDate,
    /// First and last day of the averaging window (complete calendar months).
    pub window: Option<(NaiveDate, NaiveDate)>,
    /// Detected recurring income and expenses.
    pub streams: Vec<CashflowStream>,
    /// Average monthly income (inflows categorised `Income`).
    pub monthly_income_minor: i128,
    /// Average monthly spending: outflows minus refunds, transfers between own accounts and
    /// debt principal excluded.
    pub monthly_burn_minor: i128,
    /// Average monthly essential spending (housing, utilities, groceries, transport,
    /// insurance, loan repayments).
    pub essential_spend_minor: i128,
    /// Income minus essential spending.
    pub free_cash_flow_minor: i128,
    /// Cash in current accounts minus recurring expenses due before the next income.
    pub safe_to_spend_minor: i128,
    /// Liquid cash divided by daily burn; `None` without burn.
    pub days_runway: Option<i64>,
    /// Summary status.
    pub status: CashflowStatus,
}

/// Primary categories of essential spending (`Utilities` and `Insurance` are earlier twins'
/// names; the Brain files them under `Bills` and with what they insure).
const ESSENTIAL: &[&str] =
    &["Housing", "Bills", "Utilities", "Groceries", "Transport", "Insurance", "Loans"];

/// Transactions that count as the person's own income and spending: posted, uncorrected, in the
/// base currency, on current, savings or credit-card accounts.
fn spending_view(profile: &Profile, currency: Asset) -> Vec<(&TwinTransaction, &str)> {
    profile
        .transactions()
        .filter(|t| t.is_effective_posted() && t.transaction.currency == currency)
        .filter(|t| {
            profile.account(&t.transaction.account_id).is_some_and(|a| {
                matches!(
                    a.account.account_type,
                    AccountType::Checking | AccountType::Savings | AccountType::CreditCard
                )
            })
        })
        .map(|t| {
            let category = t
                .transaction
                .enrichment
                .as_ref()
                .map_or(crate::connect::UNCATEGORISED_OUT, |e| e.category.as_str());
            (t, category)
        })
        .collect()
}

fn l1(category: &str) -> &str {
    category.split(" > ").next().unwrap_or(category)
}

fn first_of_month(day: NaiveDate) -> NaiveDate {
    day.with_day(1).unwrap_or(day)
}

/// Up to three complete calendar months before `today`'s month that have data.
fn window(profile: &Profile, today: NaiveDate) -> Option<(NaiveDate, NaiveDate, i128)> {
    let first_data = profile.transactions().map(|t| t.transaction.date).min()?;
    let end = first_of_month(today).pred_opt()?;
    let mut start = first_of_month(end);
    let mut months = 1i128;
    while months < 3 {
        let earlier = start.checked_sub_months(Months::new(1))?;
        if earlier < first_of_month(first_data) {
            break;
        }
        start = earlier;
        months += 1;
    }
    if end < first_data {
        return None;
    }
    // A first month that starts before the data is partial: drop it unless it is the only one.
    if start < first_data && months > 1 {
        start = start.checked_add_months(Months::new(1))?;
        months -= 1;
    }
    Some((start, end, months))
}

fn median(values: &mut [i128]) -> i128 {
    values.sort_unstable();
    values.get(values.len() / 2).copied().unwrap_or(0)
}

/// One occurrence of a payee: date, absolute amount, category.
type Occurrence = (NaiveDate, i128, String);

/// Past transactions (not transfers or refunds) grouped by merchant and direction.
fn occurrences_by_payee(
    profile: &Profile,
    currency: Asset,
    today: NaiveDate,
) -> BTreeMap<(String, FlowType), Vec<Occurrence>> {
    let mut groups: BTreeMap<(String, FlowType), Vec<Occurrence>> = BTreeMap::new();
    for (t, category) in spending_view(profile, currency) {
        if is_transfer(category) || is_refund(category) {
            continue;
        }
        let tx = &t.transaction;
        if tx.date > today {
            continue;
        }
        let merchant = tx
            .enrichment
            .as_ref()
            .and_then(|e| e.merchant_name.clone())
            .unwrap_or_else(|| tx.description.clone());
        let flow = if tx.amount_minor < 0 { FlowType::Expense } else { FlowType::Income };
        groups.entry((merchant, flow)).or_default().push((
            tx.date,
            tx.amount_minor.saturating_abs(),
            category.to_owned(),
        ));
    }
    groups
}

/// A payee's occurrences as a recurring stream, when they are regular and still active.
fn recurring_stream(
    merchant: String,
    flow: FlowType,
    mut items: Vec<Occurrence>,
    currency: Asset,
    today: NaiveDate,
) -> Option<CashflowStream> {
    items.sort();
    items.dedup_by(|a, b| a.0 == b.0); // same-day repeats count once
    if items.len() < 3 {
        return None;
    }
    let mut gaps: Vec<i128> =
        items.windows(2).map(|w| i128::from((w[1].0 - w[0].0).num_days())).collect();
    let gap = i64::try_from(median(&mut gaps)).unwrap_or(0);
    let (mut frequency, mut tolerance) = classify_gap(gap)?;
    // Every fourth Friday looks monthly by its median gap, but its gaps are 28 days almost
    // without exception, where a calendar month's vary from 28 to 31.
    let four_weekly = gaps.iter().filter(|g| (27..=29).contains(*g)).count();
    if frequency == Frequency::Monthly && four_weekly * 10 >= gaps.len() * 8 {
        (frequency, tolerance) = (Frequency::FourWeekly, 2);
    }
    let nominal = nominal_days(frequency);
    let regular = gaps
        .iter()
        .filter(|g| (i64::try_from(**g).unwrap_or(i64::MAX) - nominal).abs() <= tolerance + 1)
        .count();
    // Per-mille integers, so the score is exact and repeatable.
    let per_mille = |part: i128, whole: i128| if whole > 0 { part * 1000 / whole } else { 0 };
    let regularity =
        per_mille(i128::try_from(regular).unwrap_or(0), i128::try_from(gaps.len()).unwrap_or(1));
    let mut amounts: Vec<i128> = items.iter().map(|i| i.1).collect();
    let typical = median(&mut amounts);
    let mut deviations: Vec<i128> = amounts.iter().map(|a| (a - typical).abs()).collect();
    let mad = median(&mut deviations);
    // The amount to expect next: the median of the last three (a rise shows at once).
    let mut recent: Vec<i128> = items.iter().rev().take(3).map(|i| i.1).collect();
    let expected = median(&mut recent);
    let stability = if typical > 0 { 1000 - per_mille(mad, typical).min(1000) } else { 0 };
    let confidence_pm = (600 * regularity + 400 * stability) / 1000;
    let percent = u16::try_from((confidence_pm + 5) / 10).unwrap_or(0);
    let (last_date, _, category) = items.last().cloned()?;
    let dates: Vec<NaiveDate> = items.iter().map(|i| i.0).collect();
    let due = next_payment(&dates, frequency, last_date)?;
    // Ended streams: more than one period overdue.
    // At least half the gaps must match the period: habits (coffee most weeks) are not
    // streams.
    if (today - due).num_days() > nominal || percent < 60 || regularity < 500 {
        return None;
    }
    let next = next_payment(&dates, frequency, today.pred_opt().unwrap_or(today))?;
    Some(CashflowStream {
        flow,
        merchant,
        category,
        frequency,
        amount_minor: expected,
        currency,
        next_expected_date: next,
        confidence_score: f64::from(percent) / 100.0,
        occurrences: items.len(),
        last_date,
    })
}

/// Recurring streams: same merchant and direction, at least three occurrences, a regular gap
/// (weekly, fortnightly, four-weekly, monthly, quarterly, annual), still active (the next date
/// is no more than one period overdue). Four-weekly is told from monthly by its gaps: 28 days
/// almost without exception. The expected amount is the median of the last three occurrences.
/// The next date keeps a calendar stream's usual day of the month and moves it off a weekend
/// the way the stream's history moves (salaries to the Friday before, direct debits to the
/// Monday after).
/// Confidence = 0.6 × share of gaps within tolerance + 0.4 × amount stability
/// (1 − median absolute deviation / median), kept when ≥ 0.6 and when at least half the gaps
/// match the period.
pub fn recurring_streams(profile: &Profile, today: NaiveDate) -> Vec<CashflowStream> {
    let Some(currency) = profile.info.as_ref().map(|i| i.base_currency) else { return Vec::new() };
    let mut streams: Vec<CashflowStream> = occurrences_by_payee(profile, currency, today)
        .into_iter()
        .filter_map(|((merchant, flow), items)| {
            recurring_stream(merchant, flow, items, currency, today)
        })
        .collect();
    streams.sort_by(|a, b| (a.flow, b.amount_minor).cmp(&(b.flow, a.amount_minor)));
    streams
}

/// The recurrence tag the spec puts on a transaction's enrichment for a stream.
pub fn recurrence_of(stream: &CashflowStream) -> Option<Recurrence> {
    match (stream.frequency, stream.category.starts_with("Subscriptions")) {
        (Frequency::Monthly, true) => Some(Recurrence::Subscription),
        (Frequency::Monthly, false) => Some(Recurrence::Monthly),
        (Frequency::Weekly, _) => Some(Recurrence::Weekly),
        _ => None,
    }
}

/// Burn, income, free cash flow, safe-to-spend and runway as of `today`.
pub fn cashflow(profile: &Profile, today: NaiveDate) -> CashflowReport {
    let currency = base_currency(profile);
    let streams = recurring_streams(profile, today);
    let (mut income, mut spend, mut essential) = (0i128, 0i128, 0i128);
    let window = window(profile, today);
    if let Some((start, end, _)) = window {
        for (t, category) in spending_view(profile, currency) {
            let tx = &t.transaction;
            if tx.date < start || tx.date > end {
                continue;
            }
            let top = l1(category);
            let amount = tx.amount_minor;
            match top {
                _ if is_transfer(category) => {}
                _ if is_refund(category) && amount > 0 => spend -= amount,
                "Income" if amount > 0 => income += amount,
                _ if amount < 0 => {
                    spend -= amount;
                    if ESSENTIAL.contains(&top) {
                        essential -= amount;
                    }
                }
                _ => {}
            }
        }
    }
    let months = window.map_or(1, |(_, _, m)| m.max(1));
    let monthly_income = income / months;
    let monthly_burn = spend.max(0) / months;
    let essential_spend = essential / months;
    let free_cash_flow = monthly_income - essential_spend;

    let cash_in = |types: &[AccountType]| -> i128 {
        profile
            .accounts()
            .filter(|a| a.account.currency == currency && types.contains(&a.account.account_type))
            .map(|a| a.available_minor())
            .sum()
    };
    let current = cash_in(&[AccountType::Checking]);
    let liquid = cash_in(&[AccountType::Checking, AccountType::Savings]);
    let next_income = streams
        .iter()
        .filter(|s| s.flow == FlowType::Income)
        .map(|s| s.next_expected_date)
        .min()
        .unwrap_or(today + Duration::days(30));
    let mut due = 0i128;
    for s in streams.iter().filter(|s| s.flow == FlowType::Expense) {
        let mut day = s.next_expected_date;
        while day < next_income {
            due += s.amount_minor;
            match next_after(day, s.frequency) {
                Some(next) => day = next,
                None => break,
            }
        }
    }
    let safe_to_spend = current - due;
    let days_runway = (monthly_burn > 0).then(|| {
        i64::try_from(liquid.max(0).saturating_mul(30) / monthly_burn).unwrap_or(i64::MAX)
    });
    let status = match (free_cash_flow, days_runway) {
        (f, Some(r)) if f > 0 && r >= 60 => CashflowStatus::Healthy,
        (f, None) if f > 0 => CashflowStatus::Healthy,
        (f, r) if f >= 0 || r.is_some_and(|r| r >= 30) => CashflowStatus::Watch,
        _ => CashflowStatus::AtRisk,
    };
    CashflowReport {
        currency,
        today,
        window: window.map(|(s, e, _)| (s, e)),
        streams,
        monthly_income_minor: monthly_income,
        monthly_burn_minor: monthly_burn,
        essential_spend_minor: essential_spend,
        free_cash_flow_minor: free_cash_flow,
        safe_to_spend_minor: safe_to_spend,
        days_runway,
        status,
    }
}

/// A 0–1000 solvency score (spec §4.6 leaves the formula open; this one is documented in
/// `docs/twin.md`): 500, plus up to 300 for the free-cash-flow share of income (down to −300),
/// plus up to 200 for runway (180 days or more), minus up to 200 for debt relative to assets,
/// minus 50 per risk event in the last 90 days (overdrawn current account, gambling; at most 200).
pub fn solvency_score(
    profile: &Profile,
    sheet: &BalanceSheet,
    flow: &CashflowReport,
    today: NaiveDate,
) -> u16 {
    let mut score: i128 = 500;
    if flow.monthly_income_minor > 0 {
        let share = (flow.free_cash_flow_minor * 300) / flow.monthly_income_minor;
        score += share.clamp(-300, 300);
    } else if flow.free_cash_flow_minor < 0 {
        score -= 300;
    }
    score += match flow.days_runway {
        Some(days) => i128::from(days.clamp(0, 180)) * 200 / 180,
        None => 200,
    };
    if sheet.total_assets_minor > 0 {
        score -= (sheet.total_debt_minor.max(0) * 200 / sheet.total_assets_minor).min(200);
    } else if sheet.total_debt_minor > 0 {
        score -= 200;
    }
    let since = today - Duration::days(90);
    let risk_events = profile
        .transactions()
        .filter(|t| {
            t.is_effective_posted() && t.transaction.date >= since && t.transaction.date <= today
        })
        .filter(|t| {
            let overdrawn = t.transaction.balance_after_minor.is_some_and(|b| b < 0)
                && profile
                    .account(&t.transaction.account_id)
                    .is_some_and(|a| a.account.account_type == AccountType::Checking);
            let gambling = t.transaction.enrichment.as_ref().is_some_and(|e| {
                e.category == "Entertainment > Gambling" || e.category_l1() == "Gambling"
            });
            overdrawn || gambling
        })
        .count();
    score -= (i128::try_from(risk_events).unwrap_or(i128::MAX).saturating_mul(50)).min(200);
    u16::try_from(score.clamp(0, 1000)).unwrap_or(0)
}
