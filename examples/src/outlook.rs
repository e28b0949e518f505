//! The Brain's "am I okay?" for the flagship example: the 90-day balance forecast with its
//! P10–P90 band as an SVG chart, and the warnings and nudges it calls for.

use std::path::{Path, PathBuf};

use chrono::NaiveDate;
use fintra_core::{Asset, Money};
use fintra_ml::forecast::{BalanceForecast, ForecastConfig, ForecastError, forecast_profile};
use fintra_ml::insight::{BrainEvent, InsightRules, InsightState, Signals};
use fintra_twin::Profile;

/// What the outlook found.
#[derive(Debug)]
pub struct Outlook {
    /// The forecast.
    pub forecast: BalanceForecast,
    /// The events a first evaluation fires.
    pub events: Vec<BrainEvent>,
    /// Where the chart was written.
    pub chart: PathBuf,
}

/// Forecasts `profile` from `today`, writes `balance_forecast.svg` into `out`, and evaluates
/// the Brain's events once.
///
/// # Errors
/// The forecast's error (too little history), or an I/O error writing the chart.
pub fn outlook(profile: &Profile, today: NaiveDate, out: &Path) -> Result<Outlook, OutlookError> {
    let forecast = forecast_profile(profile, today, &ForecastConfig::default())?;
    std::fs::create_dir_all(out)?;
    let chart = out.join("balance_forecast.svg");
    std::fs::write(&chart, svg(&forecast))?;
    let events = Signals::from_profile(profile, today, Some(forecast.clone()))
        .map(|s| InsightState::default().evaluate(&InsightRules::default(), &s))
        .unwrap_or_default();
    Ok(Outlook { forecast, events, chart })
}

/// Why there is no outlook.
#[derive(Debug, thiserror::Error)]
pub enum OutlookError {
    /// No forecast could be made.
    #[error(transparent)]
    Forecast(#[from] ForecastError),
    /// The chart could not be written.
    #[error("writing the forecast chart: {0}")]
    Io(#[from] std::io::Error),
}

fn money(minor: i128, currency: Asset) -> String {
    Money::new(minor, currency).to_string()
}

/// The forecast as a standalone SVG: the P10–P90 band, the P50 line and the zero line.
#[allow(clippy::cast_precision_loss, reason = "pixel coordinates")]
pub fn svg(f: &BalanceForecast) -> String {
    let (w, h, pad) = (900.0_f64, 360.0_f64, 70.0_f64);
    let lo = f.days.iter().map(|d| d.p10_minor).min().unwrap_or(0).min(f.opening_balance_minor);
    let hi = f.days.iter().map(|d| d.p90_minor).max().unwrap_or(1).max(f.opening_balance_minor);
    let hi = hi.max(lo.saturating_add(100));
    let n = f.days.len().max(1);
    let to_f = |minor: i128| i64::try_from(minor / 100).map_or(0.0, |v| v as f64);
    let x = |i: usize| pad + (w - 2.0 * pad) * (i as f64) / (n as f64);
    let y =
        |v: i128| h - pad - (h - 2.0 * pad) * (to_f(v.saturating_sub(lo)) / to_f(hi - lo).max(1.0));
    let point = |i: usize, v: i128| format!("{:.1},{:.1}", x(i), y(v));
    let mut band: Vec<String> = vec![point(0, f.opening_balance_minor)];
    band.extend(f.days.iter().enumerate().map(|(i, d)| point(i + 1, d.p90_minor)));
    band.extend(f.days.iter().enumerate().rev().map(|(i, d)| point(i + 1, d.p10_minor)));
    let mut median = vec![point(0, f.opening_balance_minor)];
    median.extend(f.days.iter().enumerate().map(|(i, d)| point(i + 1, d.p50_minor)));
    let c = f.currency;
    let mut out = format!(
        "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{w}\" height=\"{h}\" viewBox=\"0 0 {w} {h}\" font-family=\"sans-serif\" font-size=\"12\">\n<rect width=\"100%\" height=\"100%\" fill=\"white\"/>\n<text x=\"{pad}\" y=\"24\" font-size=\"16\">Cash balance forecast from {} ({c}): P50 with the P10–P90 band</text>\n",
        f.as_of
    );
    out += &format!(
        "<polygon fill=\"#1f6feb\" fill-opacity=\"0.18\" stroke=\"none\" points=\"{}\"/>\n",
        band.join(" ")
    );
    if lo < 0 && hi > 0 {
        out += &format!(
            "<line x1=\"{pad}\" y1=\"{0:.1}\" x2=\"{1}\" y2=\"{0:.1}\" stroke=\"#cf222e\" stroke-dasharray=\"4 3\"/>\n",
            y(0),
            w - pad
        );
    }
    for (label, value) in [(money(hi, c), hi), (money(lo, c), lo)] {
        out += &format!("<text x=\"4\" y=\"{:.1}\">{label}</text>\n", y(value) + 4.0);
    }
    let last = f.days.last().map_or(f.as_of, |d| d.date);
    for (i, day) in [(0, f.as_of), (n, last)] {
        out += &format!(
            "<text x=\"{:.1}\" y=\"{}\" text-anchor=\"middle\">{day}</text>\n",
            x(i),
            h - pad + 18.0
        );
    }
    out += &format!(
        "<polyline fill=\"none\" stroke=\"#1f6feb\" stroke-width=\"2\" points=\"{}\"/>\n</svg>\n",
        median.join(" ")
    );
    out
}
