//! Rolling-origin backtest metrics: MASE against the seasonal-naive scale, pinball loss for
//! P10, P50 and P90, and the share of actual days inside the P10–P90 band.
//!
//! Each origin's errors are scaled by the history's own mean absolute 30-day change in
//! balance (Hyndman and Koehler's MASE scale, season = 30 days), so people with large and
//! small balances weigh the same.

use serde::Serialize;

use super::BalanceForecast;
use crate::num::{f, fu};

/// The season of the MASE scale, in days.
pub const SEASON_DAYS: usize = 30;

/// Mean absolute `SEASON_DAYS`-day change of daily balances; `None` when the history is
/// shorter than two seasons or never changes.
pub fn mase_scale(balances: &[i128]) -> Option<f64> {
    if balances.len() < 2 * SEASON_DAYS {
        return None;
    }
    let changes: Vec<f64> = balances
        .windows(SEASON_DAYS + 1)
        .map(|w| f(w[SEASON_DAYS].saturating_sub(w[0]).saturating_abs()))
        .collect();
    let mean = changes.iter().sum::<f64>() / fu(changes.len());
    (mean > 0.0).then_some(mean)
}

/// Pinball (quantile) loss of `predicted` for quantile `q` when `actual` happened.
pub fn pinball(actual: i128, predicted: i128, q: f64) -> f64 {
    let diff = f(actual.saturating_sub(predicted));
    if diff >= 0.0 { q * diff } else { (q - 1.0) * diff }
}

#[derive(Clone, Debug, Default)]
struct Sums {
    mase: f64,
    pinball: f64,
    covered: usize,
    days: usize,
}

/// Accumulates origins for one horizon.
#[derive(Clone, Debug)]
pub struct Backtest {
    horizon: usize,
    origins: usize,
    model: Sums,
    naive: Sums,
}

/// The result for one horizon.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct BacktestReport {
    /// Days ahead.
    pub horizon_days: usize,
    /// Origins scored.
    pub origins: usize,
    /// Mean MASE of the model's P50.
    pub mase_model: f64,
    /// Mean MASE of seasonal-naive.
    pub mase_naive: f64,
    /// `1 − mase_model / mase_naive`: the share by which the model beats the baseline.
    pub improvement: f64,
    /// Mean scaled pinball loss over P10, P50 and P90, model.
    pub pinball_model: f64,
    /// The same for seasonal-naive.
    pub pinball_naive: f64,
    /// Share of actual days within the model's P10–P90 band.
    pub coverage_model: f64,
    /// The same for seasonal-naive's band.
    pub coverage_naive: f64,
}

impl Backtest {
    /// An empty backtest over `horizon` days.
    pub fn new(horizon: usize) -> Self {
        Self { horizon, origins: 0, model: Sums::default(), naive: Sums::default() }
    }

    /// Scores one origin: both forecasts against the `actual` end-of-day balances that
    /// followed (at least `horizon` of them), scaled by `scale` ([`mase_scale`]).
    pub fn add(
        &mut self,
        model: &BalanceForecast,
        naive: &BalanceForecast,
        actual: &[i128],
        scale: f64,
    ) {
        if actual.len() < self.horizon
            || model.days.len() < self.horizon
            || naive.days.len() < self.horizon
            || scale <= 0.0
        {
            return;
        }
        self.origins += 1;
        for (forecast, sums) in [(model, &mut self.model), (naive, &mut self.naive)] {
            let mut abs = 0.0;
            let mut loss = 0.0;
            for (day, y) in forecast.days.iter().zip(actual).take(self.horizon) {
                abs += f(y.saturating_sub(day.p50_minor).saturating_abs());
                loss += pinball(*y, day.p10_minor, 0.1)
                    + pinball(*y, day.p50_minor, 0.5)
                    + pinball(*y, day.p90_minor, 0.9);
                if day.p10_minor <= *y && *y <= day.p90_minor {
                    sums.covered += 1;
                }
                sums.days += 1;
            }
            let h = fu(self.horizon);
            sums.mase += abs / h / scale;
            sums.pinball += loss / 3.0 / h / scale;
        }
    }

    /// Adds another backtest's origins (one per worker, merged at the end).
    pub fn merge(&mut self, other: &Self) {
        self.origins += other.origins;
        for (mine, theirs) in [(&mut self.model, &other.model), (&mut self.naive, &other.naive)] {
            mine.mase += theirs.mase;
            mine.pinball += theirs.pinball;
            mine.covered += theirs.covered;
            mine.days += theirs.days;
        }
    }

    /// The means so far.
    pub fn report(&self) -> BacktestReport {
        let n = fu(self.origins.max(1));
        let share = |s: &Sums| fu(s.covered) / fu(s.days.max(1));
        let (mase_model, mase_naive) = (self.model.mase / n, self.naive.mase / n);
        BacktestReport {
            horizon_days: self.horizon,
            origins: self.origins,
            mase_model,
            mase_naive,
            improvement: if mase_naive > 0.0 { 1.0 - mase_model / mase_naive } else { 0.0 },
            pinball_model: self.model.pinball / n,
            pinball_naive: self.naive.pinball / n,
            coverage_model: share(&self.model),
            coverage_naive: share(&self.naive),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pinball_weighs_the_side_of_the_miss() {
        assert!((pinball(100, 0, 0.9) - 90.0).abs() < 1e-9);
        assert!((pinball(0, 100, 0.9) - 10.0).abs() < 1e-9);
        assert_eq!(mase_scale(&[5; 90]), None);
        assert_eq!(mase_scale(&[1, 2, 3]), None);
    }
}
