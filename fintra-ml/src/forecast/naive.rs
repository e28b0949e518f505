//! The seasonal-naive baseline: each future day's flow is the flow of the same day one calendar
//! month earlier; its band is its own past errors at the same horizon.

use chrono::{Duration, Months, NaiveDate};

use super::{CashHistory, ForecastDay, quantile};

/// The day one calendar month before `day` (clamped to the shorter month).
fn month_before(day: NaiveDate) -> NaiveDate {
    day.checked_sub_months(Months::new(1)).unwrap_or(day)
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

pub(super) fn seasonal_naive(
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
