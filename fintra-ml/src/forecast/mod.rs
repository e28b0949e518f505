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
mod naive;
mod simulate;

use chrono::{Datelike, NaiveDate};
use fintra_core::Asset;
use fintra_twin::fos::{AccountType, CashflowStream, FlowType, Forecast};
use fintra_twin::{Profile, engines};
use serde::{Deserialize, Serialize};

use crate::num::{count, f, fu, minor};
use naive::seasonal_naive;
use simulate::{calibration, simulate};

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
    /// The history stopped long before the forecast day (no movement for [`GAP_DAYS`] days or
    /// more): what it knew no longer describes today.
    #[error("the cash history stopped on {last}, {days} days before the forecast day")]
    StaleHistory {
        /// The last movement.
        last: NaiveDate,
        /// Days from it to the forecast day.
        days: u32,
    },
    /// The profile has no current or savings account in its base currency.
    #[error("the profile has no cash account in its base currency")]
    NoCashAccount,
    /// The profile was never created.
    #[error("the profile has not been created")]
    NoProfile,
    /// A forecast day outside the years 1 to 9999, where the log's timestamps live (and date
    /// arithmetic stays far from chrono's limits).
    #[error("the forecast day {0} is outside the years 1 to 9999")]
    DateOutOfRange(NaiveDate),
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
    if !(1..=9999).contains(&history.as_of.year()) {
        return Err(ForecastError::DateOutOfRange(history.as_of));
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
    if let Some(last) = history.flows.last() {
        let days = (history.as_of - last.date).num_days();
        if days >= GAP_DAYS {
            let days = u32::try_from(days).unwrap_or(u32::MAX);
            return Err(ForecastError::StaleHistory { last: last.date, days });
        }
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

/// The `q` quantile of sorted values (nearest rank).
fn quantile(sorted: &[i128], q: f64) -> i128 {
    if sorted.is_empty() {
        return 0;
    }
    let rank = count((q * fu(sorted.len() - 1)).round());
    sorted[rank.min(sorted.len() - 1)]
}
