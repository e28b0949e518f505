//! "Am I okay?": a daily balance forecast with P10, P50 and P90 for up to 90 days.
//!
//! Two methods, measured against each other by [`backtest`] on a population with known truth:
//!
//! - [`Method::SeasonalNaive`], the baseline: each future day's net flow is the flow of the same
//!   day one calendar month earlier (a forecast day more than a month ahead repeats a forecast
//!   day). Its band is the spread of its own past errors at the same horizon.
//! - [`Method::RecurringResidual`], the default: the recurring streams the twin detects
//!   (salary, rent, bills, subscriptions) are laid out on their own calendars, moved off
//!   weekends the way their history moves; everything else — the irregular spend — is drawn
//!   in week-long blocks, weekday-aligned, from the recent residual days (the daily flow
//!   minus the recurring payments), scaled by last year's month when a year of history
//!   exists. Quantiles come from a seeded simulation of paths, so the same history always
//!   gives the same forecast.
//!
//! The default is the method that beats the baseline in the backtest (see `docs/brain.md`).
//! The forecast never returns NaN and never panics: too little history is a typed
//! [`ForecastError::NotEnoughHistory`]; a short history or one with a long gap gives wider
//! bands and a [`Caveat`] that says why.

pub mod backtest;

use chrono::{Datelike, Duration, Months, NaiveDate};
use fintra_core::Asset;
use fintra_twin::fos::{AccountType, CashflowStream, FlowType, Forecast};
use fintra_twin::{Profile, engines};
use serde::{Deserialize, Serialize};

use crate::num::{count, f, fu, minor};
use crate::rng::Rng;

/// Fewer days than this between the first cash movement and the forecast day is not enough.
pub const MIN_HISTORY_DAYS: u32 = 14;
/// Fewer posted cash movements than this is not enough.
pub const MIN_FLOWS: usize = 3;
/// A history shorter than this gets a [`Caveat::ShortHistory`] and wider bands.
pub const FULL_HISTORY_DAYS: u32 = 90;
/// A stretch this long without any movement is a gap: only what follows it is used.
pub const GAP_DAYS: i64 = 45;
/// The longest horizon.
pub const MAX_HORIZON_DAYS: u32 = 366;

/// Why a forecast cannot be made.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum ForecastError {
    /// Too little posted history (a lone transaction, only pending ones, a new account).
    #[error(
        "not enough history to forecast: {days} days and {flows} posted movements (needs {MIN_HISTORY_DAYS} days and {MIN_FLOWS})"
    )]
    NotEnoughHistory {
        /// Days of history.
        days: u32,
        /// Posted cash movements.
        flows: usize,
    },
    /// The profile has no current or savings account in its base currency.
    #[error("the profile has no cash account in its base currency")]
    NoCashAccount,
    /// The profile was never created.
    #[error("the profile has not been created")]
    NoProfile,
    /// A horizon of zero days or beyond the longest.
    #[error("a horizon of {0} days is outside 1..={MAX_HORIZON_DAYS}")]
    Horizon(u32),
}

/// How the forecast was made.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Method {
    /// The same day last month.
    SeasonalNaive,
    /// Recurring streams plus block-bootstrapped irregular spend.
    RecurringResidual,
}

/// What the reader of a forecast should know about it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "reason", rename_all = "snake_case")]
pub enum Caveat {
    /// Less than [`FULL_HISTORY_DAYS`] of history: the band is widened.
    ShortHistory {
        /// Days of history used.
        days: u32,
    },
    /// A stretch without movements; only the history after it is used.
    GapInHistory {
        /// The last movement before the gap.
        from: NaiveDate,
        /// The first movement after it.
        to: NaiveDate,
    },
    /// No recurring income was detected: the forecast has no salary to rely on.
    NoRecurringIncome,
}

/// One posted cash movement.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Flow {
    /// Booking date.
    pub date: NaiveDate,
    /// Signed amount, minor units.
    pub amount_minor: i128,
    /// The cleaned merchant, or the description (what recurrence detection groups by).
    pub payee: String,
}

/// A profile's cash (current and savings accounts in its base currency) as of a day.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CashHistory {
    /// The last day of history (inclusive).
    pub as_of: NaiveDate,
    /// The currency.
    pub currency: Asset,
    /// Balance at the end of `as_of`.
    pub closing_balance_minor: i128,
    /// Posted movements up to `as_of`, in date order.
    pub flows: Vec<Flow>,
}

impl CashHistory {
    /// The same history as it stood at the end of `day`.
    pub fn truncated(&self, day: NaiveDate) -> Self {
        let later = self
            .flows
            .iter()
            .filter(|f| f.date > day)
            .fold(0i128, |sum, f| sum.saturating_add(f.amount_minor));
        Self {
            as_of: day.min(self.as_of),
            currency: self.currency,
            closing_balance_minor: self.closing_balance_minor.saturating_sub(later),
            flows: self.flows.iter().filter(|f| f.date <= day).cloned().collect(),
        }
    }

    /// The cash of `profile` up to and including `as_of`: what a forecast made on the morning
    /// after `as_of` knows.
    pub fn from_profile(profile: &Profile, as_of: NaiveDate) -> Result<Self, ForecastError> {
        let currency = profile.info.as_ref().ok_or(ForecastError::NoProfile)?.base_currency;
        let cash: Vec<&str> = profile
            .accounts()
            .filter(|a| {
                a.account.currency == currency
                    && matches!(
                        a.account.account_type,
                        AccountType::Checking | AccountType::Savings
                    )
            })
            .map(|a| a.account.account_id.as_str())
            .collect();
        if cash.is_empty() {
            return Err(ForecastError::NoCashAccount);
        }
        let mut balance: i128 = profile
            .accounts()
            .filter(|a| cash.contains(&a.account.account_id.as_str()))
            .map(|a| a.balance_minor)
            .fold(0, i128::saturating_add);
        let mut flows = Vec::new();
        for t in profile.transactions() {
            let tx = &t.transaction;
            if !t.is_effective_posted() || !cash.contains(&tx.account_id.as_str()) {
                continue;
            }
            if tx.date > as_of {
                balance = balance.saturating_sub(tx.amount_minor);
                continue;
            }
            let payee = tx
                .enrichment
                .as_ref()
                .and_then(|e| e.merchant_name.clone())
                .unwrap_or_else(|| tx.description.clone());
            flows.push(Flow { date: tx.date, amount_minor: tx.amount_minor, payee });
        }
        flows.sort_by_key(|f| f.date);
        Ok(Self { as_of, currency, closing_balance_minor: balance, flows })
    }

    /// End-of-day balances from `first` to `as_of` (inclusive), oldest first.
    pub fn daily_balances(&self, first: NaiveDate) -> Vec<i128> {
        let days = usize::try_from((self.as_of - first).num_days() + 1).unwrap_or(0);
        let mut net = vec![0i128; days];
        for f in &self.flows {
            if let Some(slot) =
                usize::try_from((f.date - first).num_days()).ok().and_then(|i| net.get_mut(i))
            {
                *slot = slot.saturating_add(f.amount_minor);
            }
        }
        // Walk back from the closing balance.
        let mut out = vec![0i128; days];
        let mut balance = self.closing_balance_minor;
        for i in (0..days).rev() {
            out[i] = balance;
            balance = balance.saturating_sub(net[i]);
        }
        out
    }
}

/// How to forecast.
#[derive(Clone, Debug, PartialEq)]
pub struct ForecastConfig {
    /// Days ahead (1..=366).
    pub horizon_days: u32,
    /// The method.
    pub method: Method,
    /// Simulated paths for the quantiles.
    pub paths: usize,
    /// Days of recent residual history the irregular spend is drawn from.
    pub residual_window_days: u32,
    /// Length of the blocks drawn from it, in days (a multiple of 7 keeps weekdays aligned).
    pub block_days: u32,
    /// The simulation's seed.
    pub seed: u64,
}

impl Default for ForecastConfig {
    fn default() -> Self {
        Self {
            horizon_days: 90,
            method: Method::RecurringResidual,
            paths: 400,
            residual_window_days: 365,
            block_days: 7,
            seed: 0x5EED,
        }
    }
}

/// One forecast day.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ForecastDay {
    /// The day.
    pub date: NaiveDate,
    /// 10th percentile of the end-of-day balance, minor units.
    pub p10_minor: i128,
    /// Median.
    pub p50_minor: i128,
    /// 90th percentile.
    pub p90_minor: i128,
}

/// A daily balance forecast.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct BalanceForecast {
    /// The last day of history.
    pub as_of: NaiveDate,
    /// The currency.
    pub currency: Asset,
    /// How it was made.
    pub method: Method,
    /// The balance at the end of `as_of`.
    pub opening_balance_minor: i128,
    /// One entry per day after `as_of`.
    pub days: Vec<ForecastDay>,
    /// Days until the median balance first falls below zero.
    pub days_until_zero: Option<u32>,
    /// Days until the 10th percentile first falls below zero (the early warning).
    pub days_until_zero_p10: Option<u32>,
    /// What to know about it.
    pub caveats: Vec<Caveat>,
}

impl BalanceForecast {
    /// The forecast `days` ahead in the FOS shape (P50, with P10 and P90 as its bounds).
    pub fn at(&self, days: u32) -> Option<Forecast> {
        let day = self.days.get(usize::try_from(days).ok()?.checked_sub(1)?)?;
        Some(Forecast {
            target_date: day.date,
            predicted_balance_minor: day.p50_minor,
            lower_bound_minor: day.p10_minor,
            upper_bound_minor: day.p90_minor,
        })
    }

    /// The 30, 60 and 90 day points that exist.
    pub fn headline(&self) -> Vec<Forecast> {
        [30, 60, 90].into_iter().filter_map(|d| self.at(d)).collect()
    }
}

/// The forecast for a profile after `as_of`, with its detected recurring streams.
pub fn forecast_profile(
    profile: &Profile,
    as_of: NaiveDate,
    config: &ForecastConfig,
) -> Result<BalanceForecast, ForecastError> {
    let history = CashHistory::from_profile(profile, as_of)?;
    let streams = engines::recurring_streams(profile, as_of);
    forecast(&history, &streams, config)
}

/// The forecast from a cash history and the recurring streams detected in it.
pub fn forecast(
    history: &CashHistory,
    streams: &[CashflowStream],
    config: &ForecastConfig,
) -> Result<BalanceForecast, ForecastError> {
    if config.horizon_days == 0 || config.horizon_days > MAX_HORIZON_DAYS {
        return Err(ForecastError::Horizon(config.horizon_days));
    }
    let mut caveats = Vec::new();
    let first = usable_start(history, &mut caveats)?;
    let days = u32::try_from((history.as_of - first).num_days() + 1).unwrap_or(0);
    if days < FULL_HISTORY_DAYS {
        caveats.push(Caveat::ShortHistory { days });
    }
    let balances = history.daily_balances(first);
    let opening = history.closing_balance_minor;
    let horizon = usize::try_from(config.horizon_days).unwrap_or(90);
    let (mut days_out, method) = match config.method {
        Method::SeasonalNaive => {
            (seasonal_naive(history, first, &balances, horizon), config.method)
        }
        Method::RecurringResidual => {
            if !streams.iter().any(|s| s.flow == FlowType::Income) {
                caveats.push(Caveat::NoRecurringIncome);
            }
            let mut days = simulate(history, first, streams, horizon, config);
            let (low, high) = calibration(history, first, streams, horizon, config);
            spread(&mut days, low, high);
            (days, config.method)
        }
    };
    if days < FULL_HISTORY_DAYS {
        widen(&mut days_out, f64::from(FULL_HISTORY_DAYS) / f64::from(days.max(1)));
    }
    let below = |f: fn(&ForecastDay) -> i128| {
        days_out.iter().position(|d| f(d) < 0).and_then(|i| u32::try_from(i + 1).ok())
    };
    let (days_until_zero, days_until_zero_p10) = (below(|d| d.p50_minor), below(|d| d.p10_minor));
    Ok(BalanceForecast {
        as_of: history.as_of,
        currency: history.currency,
        method,
        opening_balance_minor: opening,
        days: days_out,
        days_until_zero,
        days_until_zero_p10,
        caveats,
    })
}

/// The first day of the history worth using: after the last long gap.
fn usable_start(
    history: &CashHistory,
    caveats: &mut Vec<Caveat>,
) -> Result<NaiveDate, ForecastError> {
    let not_enough = |days: i64, flows: usize| ForecastError::NotEnoughHistory {
        days: u32::try_from(days.max(0)).unwrap_or(0),
        flows,
    };
    let Some(first) = history.flows.first() else { return Err(not_enough(0, 0)) };
    let mut start = first.date;
    let mut used = history.flows.len();
    for (i, pair) in history.flows.windows(2).enumerate() {
        if (pair[1].date - pair[0].date).num_days() >= GAP_DAYS {
            start = pair[1].date;
            used = history.flows.len() - (i + 1);
            caveats.retain(|c| !matches!(c, Caveat::GapInHistory { .. }));
            caveats.push(Caveat::GapInHistory { from: pair[0].date, to: pair[1].date });
        }
    }
    // A gap between the last movement and the forecast day counts too.
    if history.flows.last().is_some_and(|last| (history.as_of - last.date).num_days() >= GAP_DAYS) {
        return Err(not_enough(0, 0));
    }
    let days = (history.as_of - start).num_days() + 1;
    if days < i64::from(MIN_HISTORY_DAYS) || used < MIN_FLOWS {
        return Err(not_enough(days, used));
    }
    Ok(start)
}

/// Spreads each day's band around its median by `factor` on both sides.
fn widen(days: &mut [ForecastDay], factor: f64) {
    spread(days, factor, factor);
}

/// Spreads the lower half of each day's band by `low` and the upper by `high` (each 1× to
/// 4×; a factor that is not a number leaves the band as it is).
fn spread(days: &mut [ForecastDay], low: f64, high: f64) {
    let clamp = |x: f64| if x.is_finite() { x.clamp(1.0, 4.0) } else { 1.0 };
    let (low, high) = (clamp(low), clamp(high));
    for d in days {
        let (below, above) =
            (d.p50_minor.saturating_sub(d.p10_minor), d.p90_minor.saturating_sub(d.p50_minor));
        d.p10_minor = d.p50_minor.saturating_sub(minor(f(below) * low));
        d.p90_minor = d.p50_minor.saturating_add(minor(f(above) * high));
    }
}

/// The day one calendar month before `day` (clamped to the shorter month).
fn month_before(day: NaiveDate) -> NaiveDate {
    day.checked_sub_months(Months::new(1)).unwrap_or(day)
}

/// The `q` quantile of sorted values (nearest rank).
fn quantile(sorted: &[i128], q: f64) -> i128 {
    if sorted.is_empty() {
        return 0;
    }
    let rank = count((q * fu(sorted.len() - 1)).round());
    sorted[rank.min(sorted.len() - 1)]
}

/// Daily net flows by day index from `first`.
fn daily_net(balances: &[i128], opening_of_first: i128) -> Vec<i128> {
    let mut previous = opening_of_first;
    balances
        .iter()
        .map(|b| {
            let net = b.saturating_sub(previous);
            previous = *b;
            net
        })
        .collect()
}

/// The seasonal-naive path from the history's end: flows of one month earlier.
fn naive_path(
    history_net: &[i128],
    first: NaiveDate,
    as_of: NaiveDate,
    opening: i128,
    horizon: usize,
) -> Vec<i128> {
    let mut future: Vec<i128> = Vec::with_capacity(horizon);
    let mut balance = opening;
    let mut out = Vec::with_capacity(horizon);
    for k in 1..=horizon {
        let day = as_of + Duration::days(i64::try_from(k).unwrap_or(0));
        let source = month_before(day);
        let flow = if source <= as_of {
            usize::try_from((source - first).num_days())
                .ok()
                .and_then(|i| history_net.get(i))
                .copied()
                .unwrap_or(0)
        } else {
            let j = usize::try_from((source - as_of).num_days() - 1).unwrap_or(0);
            future.get(j).copied().unwrap_or(0)
        };
        future.push(flow);
        balance = balance.saturating_add(flow);
        out.push(balance);
    }
    out
}

fn seasonal_naive(
    history: &CashHistory,
    first: NaiveDate,
    balances: &[i128],
    horizon: usize,
) -> Vec<ForecastDay> {
    let on_first = history
        .flows
        .iter()
        .filter(|f| f.date == first)
        .fold(0i128, |sum, f| sum.saturating_add(f.amount_minor));
    let opening_of_first = balances.first().copied().unwrap_or(0).saturating_sub(on_first);
    let net = daily_net(balances, opening_of_first);
    let p50 = naive_path(&net, first, history.as_of, history.closing_balance_minor, horizon);
    // The band: the method's own errors at each horizon, from earlier origins in the history.
    let mut errors: Vec<Vec<i128>> = vec![Vec::new(); horizon];
    let n = balances.len();
    let origins = (40..n.saturating_sub(1)).rev().step_by(7).take(26);
    for o in origins {
        let as_of = first + Duration::days(i64::try_from(o).unwrap_or(0));
        let path = naive_path(&net[..=o], first, as_of, balances[o], horizon);
        for (k, predicted) in path.iter().enumerate() {
            if let Some(actual) = balances.get(o + k + 1) {
                errors[k].push(actual.saturating_sub(*predicted));
            }
        }
    }
    p50.iter()
        .enumerate()
        .map(|(k, p)| {
            let e = &mut errors[k];
            e.sort_unstable();
            ForecastDay {
                date: history.as_of + Duration::days(i64::try_from(k + 1).unwrap_or(0)),
                p10_minor: p.saturating_add(quantile(e, 0.1).min(0)),
                p50_minor: *p,
                p90_minor: p.saturating_add(quantile(e, 0.9).max(0)),
            }
        })
        .collect()
}

/// Calibration origins, back from the forecast day.
const CALIBRATION_ORIGINS: i64 = 8;
/// Days between calibration origins.
const CALIBRATION_STEP_DAYS: i64 = 14;
/// Paths per calibration forecast.
const CALIBRATION_PATHS: usize = 100;

/// How much each side of the simulated band must be spread to hold what actually followed at
/// earlier origins in the same history (split-conformal calibration): for each day after
/// each origin, the distance below (above) the median in units of the band's lower (upper)
/// half-width; each side's factor is the 90th percentile of those, so P10 is undershot and
/// P90 overshot one day in ten. (1, 1) when the history is too short to tell.
fn calibration(
    history: &CashHistory,
    first: NaiveDate,
    streams: &[CashflowStream],
    horizon: usize,
    config: &ForecastConfig,
) -> (f64, f64) {
    let (mut lower, mut upper) = (Vec::new(), Vec::new());
    let balances = history.daily_balances(first);
    for back in 1..=CALIBRATION_ORIGINS {
        let origin = history.as_of - Duration::days(CALIBRATION_STEP_DAYS * back);
        if (origin - first).num_days() < 60 {
            break;
        }
        let past = history.truncated(origin);
        let ahead = usize::try_from(CALIBRATION_STEP_DAYS * back).unwrap_or(0).min(horizon);
        let quick = ForecastConfig { paths: CALIBRATION_PATHS, ..config.clone() };
        let days = simulate(&past, first, streams, ahead, &quick);
        let at = usize::try_from((origin - first).num_days()).unwrap_or(0);
        for (k, d) in days.iter().enumerate() {
            let Some(actual) = balances.get(at + k + 1) else { break };
            // Signed: below the median in units of the lower half-band, above in the upper.
            let (below, above) = (
                f(d.p50_minor.saturating_sub(*actual))
                    / f(d.p50_minor.saturating_sub(d.p10_minor)).max(100.0),
                f(actual.saturating_sub(d.p50_minor))
                    / f(d.p90_minor.saturating_sub(d.p50_minor)).max(100.0),
            );
            lower.push(below);
            upper.push(above);
        }
    }
    if lower.len() < 28 {
        return (1.0, 1.0);
    }
    // Each side's 90th percentile: P10 should be undershot one day in ten, P90 overshot one in
    // ten.
    let ninetieth = |v: &mut Vec<f64>| {
        v.sort_by(f64::total_cmp);
        v[v.len() * 9 / 10]
    };
    (ninetieth(&mut lower), ninetieth(&mut upper))
}

/// Recurring payments from the day after `as_of` to `horizon` days ahead, by day index.
fn recurring_path(history: &CashHistory, streams: &[CashflowStream], horizon: usize) -> Vec<i128> {
    let mut out = vec![0i128; horizon];
    let until = history.as_of + Duration::days(i64::try_from(horizon).unwrap_or(0));
    for s in streams {
        let paid: Vec<&Flow> = history
            .flows
            .iter()
            .filter(|f| {
                f.payee == s.merchant && (f.amount_minor > 0) == (s.flow == FlowType::Income)
            })
            .collect();
        let dates: Vec<NaiveDate> = paid
            .iter()
            .map(|f| f.date)
            .collect::<std::collections::BTreeSet<_>>()
            .into_iter()
            .collect();
        // The amount as this history knows it (the median of its last three payments), so a
        // calibration origin does not see a price rise that came after it.
        let mut last: Vec<i128> = paid.iter().rev().take(3).map(|f| f.amount_minor.abs()).collect();
        last.sort_unstable();
        let amount = last.get(last.len() / 2).copied().unwrap_or(s.amount_minor);
        let sign = if s.flow == FlowType::Income { 1 } else { -1 };
        for day in engines::payment_schedule(&dates, s.frequency, history.as_of, until) {
            if let Some(slot) = usize::try_from((day - history.as_of).num_days() - 1)
                .ok()
                .and_then(|i| out.get_mut(i))
            {
                *slot = slot.saturating_add(amount.saturating_mul(sign));
            }
        }
    }
    out
}

/// Daily residual flows (not part of a detected stream) from `first` to `as_of`.
fn residuals(history: &CashHistory, first: NaiveDate, streams: &[CashflowStream]) -> Vec<i128> {
    let days = usize::try_from((history.as_of - first).num_days() + 1).unwrap_or(0);
    let mut out = vec![0i128; days];
    for f in &history.flows {
        let recurring = streams
            .iter()
            .any(|s| s.merchant == f.payee && (f.amount_minor > 0) == (s.flow == FlowType::Income));
        if recurring {
            continue;
        }
        if let Some(slot) =
            usize::try_from((f.date - first).num_days()).ok().and_then(|i| out.get_mut(i))
        {
            *slot = slot.saturating_add(f.amount_minor);
        }
    }
    out
}

/// Spend in the target month last year over the average month of the last year, from the
/// residual outflows; 1 without a year of history. Clamped to 0.5..=2.
fn seasonal_factors(residual: &[i128], first: NaiveDate) -> [f64; 12] {
    let mut factors = [1.0; 12];
    if residual.len() < 395 {
        return factors;
    }
    let year = &residual[residual.len() - 365..];
    let year_start = first + Duration::days(i64::try_from(residual.len() - 365).unwrap_or(0));
    let mut by_month = [0f64; 12];
    let mut days_in = [0f64; 12];
    for (i, r) in year.iter().enumerate() {
        let m = (year_start + Duration::days(i64::try_from(i).unwrap_or(0))).month0() as usize;
        by_month[m] += f(r.saturating_neg().max(0));
        days_in[m] += 1.0;
    }
    let total: f64 = by_month.iter().sum();
    let per_day = total / 365.0;
    if per_day <= 0.0 {
        return factors;
    }
    for m in 0..12 {
        if days_in[m] > 0.0 {
            factors[m] = (by_month[m] / days_in[m] / per_day).clamp(0.5, 2.0);
        }
    }
    factors
}

fn simulate(
    history: &CashHistory,
    first: NaiveDate,
    streams: &[CashflowStream],
    horizon: usize,
    config: &ForecastConfig,
) -> Vec<ForecastDay> {
    let recurring = recurring_path(history, streams, horizon);
    let residual = residuals(history, first, streams);
    let factors = seasonal_factors(&residual, first);
    // The recent residual window, its level taken relative to its own months.
    let window = usize::try_from(config.residual_window_days).unwrap_or(120).min(residual.len());
    let start = residual.len() - window;
    let window_first = first + Duration::days(i64::try_from(start).unwrap_or(0));
    let recent: Vec<f64> = residual[start..]
        .iter()
        .enumerate()
        .map(|(i, r)| {
            let m =
                (window_first + Duration::days(i64::try_from(i).unwrap_or(0))).month0() as usize;
            if *r < 0 { f(*r) / factors[m] } else { f(*r) }
        })
        .collect();
    // Week-long blocks starting on each weekday.
    let mut starts: [Vec<usize>; 7] = Default::default();
    let block_len = usize::try_from(config.block_days.max(1)).unwrap_or(7);
    for i in 0..recent.len().saturating_sub(block_len - 1) {
        let wd = (window_first + Duration::days(i64::try_from(i).unwrap_or(0)))
            .weekday()
            .num_days_from_monday();
        starts[wd as usize].push(i);
    }
    let mut rng = Rng::new(
        config.seed
            ^ u64::try_from(history.closing_balance_minor.unsigned_abs() & u128::from(u64::MAX))
                .unwrap_or(0),
    );
    let paths = config.paths.max(20);
    let mut sims: Vec<Vec<i128>> = vec![Vec::with_capacity(paths); horizon];
    for _ in 0..paths {
        let mut balance = history.closing_balance_minor;
        let mut block: Option<usize> = None;
        for (k, values) in sims.iter_mut().enumerate() {
            let day = history.as_of + Duration::days(i64::try_from(k + 1).unwrap_or(0));
            if k % block_len == 0 {
                let wd = day.weekday().num_days_from_monday() as usize;
                block = rng.pick(&starts[wd]).copied();
            }
            let drawn = block.and_then(|b| recent.get(b + k % block_len)).copied().unwrap_or(0.0);
            let m = day.month0() as usize;
            let flow = if drawn < 0.0 { drawn * factors[m] } else { drawn };
            let scheduled = recurring.get(k).copied().unwrap_or(0);
            balance = balance.saturating_add(scheduled).saturating_add(minor(flow));
            values.push(balance);
        }
    }
    sims.into_iter()
        .enumerate()
        .map(|(k, mut values)| {
            values.sort_unstable();
            ForecastDay {
                date: history.as_of + Duration::days(i64::try_from(k + 1).unwrap_or(0)),
                p10_minor: quantile(&values, 0.1),
                p50_minor: quantile(&values, 0.5),
                p90_minor: quantile(&values, 0.9),
            }
        })
        .collect()
}
