//! The default method: recurring streams on their own calendars, the irregular rest drawn in
//! weekday-aligned blocks, and the band calibrated on earlier origins of the same history.

use chrono::{Datelike, Duration, NaiveDate};
use fintra_twin::engines;
use fintra_twin::fos::{CashflowStream, FlowType};

use super::{CashHistory, Flow, ForecastConfig, ForecastDay, quantile};
use crate::num::{f, minor};
use crate::rng::Rng;

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
pub(super) fn calibration(
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
        let mut last: Vec<i128> =
            paid.iter().rev().take(3).map(|f| f.amount_minor.saturating_abs()).collect();
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

pub(super) fn simulate(
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
