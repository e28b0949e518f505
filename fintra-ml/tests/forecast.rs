//! Forecasts on bad and thin histories: a typed "not enough history" or a forecast with its
//! reasons and ordered bands; never NaN, never a panic.

#![allow(clippy::unwrap_used, reason = "test setup fails the test")]

use chrono::{Duration, NaiveDate};
use fintra_core::Asset;
use fintra_ml::forecast::{
    BalanceForecast, CashHistory, Caveat, Flow, ForecastConfig, ForecastError, Method, forecast,
};

fn day(n: i64) -> NaiveDate {
    NaiveDate::from_ymd_opt(2024, 1, 1).unwrap() + Duration::days(n)
}

fn history(as_of: i64, closing: i128, flows: Vec<(i64, i128)>) -> CashHistory {
    CashHistory {
        as_of: day(as_of),
        currency: Asset::GBP,
        closing_balance_minor: closing,
        flows: flows
            .into_iter()
            .map(|(d, a)| Flow { date: day(d), amount_minor: a, payee: format!("shop {}", d % 5) })
            .collect(),
    }
}

fn ordered(f: &BalanceForecast) {
    assert_eq!(f.days.len(), 90);
    for d in &f.days {
        assert!(d.p10_minor <= d.p50_minor && d.p50_minor <= d.p90_minor, "{d:?}");
    }
    let json = serde_json::to_string(f).unwrap();
    assert!(!json.contains("NaN") && !json.contains("null,\"p"), "{json}");
}

#[test]
fn nothing_or_one_transaction_is_not_enough_history() {
    let empty = history(30, 0, vec![]);
    assert_eq!(
        forecast(&empty, &[], &ForecastConfig::default()),
        Err(ForecastError::NotEnoughHistory { days: 0, flows: 0 })
    );
    let one = history(30, 5_000, vec![(29, -1_000)]);
    let err = forecast(&one, &[], &ForecastConfig::default()).unwrap_err();
    assert!(matches!(err, ForecastError::NotEnoughHistory { flows: 1, .. }), "{err}");
    assert!(err.to_string().contains("not enough history"));
}

#[test]
fn a_history_that_stopped_long_ago_is_stale() {
    let flows = (0..60).map(|d| (d, -1_500)).collect();
    let stale = history(200, 10_000, flows);
    assert_eq!(
        forecast(&stale, &[], &ForecastConfig::default()),
        Err(ForecastError::StaleHistory { last: day(59), days: 141 })
    );
}

#[test]
fn spending_without_income_runs_down_to_a_days_until_zero() {
    let flows =
        (0..150).map(|d| (d, -2_000 - i128::from(i32::try_from(d % 7).unwrap()) * 300)).collect();
    let h = history(149, 100_000, flows);
    for method in [Method::RecurringResidual, Method::SeasonalNaive] {
        let f = forecast(&h, &[], &ForecastConfig { method, ..ForecastConfig::default() }).unwrap();
        ordered(&f);
        // About £29 a day from £1,000: under zero in about five weeks.
        let zero = f.days_until_zero.unwrap();
        assert!((25..=45).contains(&zero), "{method:?}: {zero}");
        assert!(f.days_until_zero_p10.unwrap() <= zero);
        if method == Method::RecurringResidual {
            assert!(f.caveats.contains(&Caveat::NoRecurringIncome), "{:?}", f.caveats);
        }
        assert_eq!(f.headline().len(), 3);
        assert_eq!(f.at(30).unwrap().predicted_balance_minor, f.days[29].p50_minor);
    }
}

#[test]
fn a_six_month_gap_keeps_what_follows_and_says_so_with_wider_bands() {
    let mut flows: Vec<(i64, i128)> = (0..60).map(|d| (d, -1_000)).collect();
    flows.extend((240..270).map(|d| (d, if d % 3 == 0 { 3_000 } else { -1_200 })));
    let h = history(269, 50_000, flows.clone());
    let f = forecast(&h, &[], &ForecastConfig::default()).unwrap();
    ordered(&f);
    assert!(f.caveats.iter().any(|c| matches!(c, Caveat::GapInHistory { .. })), "{:?}", f.caveats);
    assert!(f.caveats.contains(&Caveat::ShortHistory { days: 30 }), "{:?}", f.caveats);
    // The same last month on a long, steady history gets a narrower band.
    let mut steady: Vec<(i64, i128)> =
        (150..240).map(|d| (d, if d % 3 == 0 { 3_000 } else { -1_200 })).collect();
    steady.extend(flows.into_iter().filter(|(d, _)| *d >= 240));
    let g = forecast(&history(269, 50_000, steady), &[], &ForecastConfig::default()).unwrap();
    let width = |f: &BalanceForecast| f.days[29].p90_minor - f.days[29].p10_minor;
    assert!(width(&f) > width(&g), "{} vs {}", width(&f), width(&g));
}

#[test]
fn huge_amounts_saturate_instead_of_panicking() {
    let big = i128::MAX / 4;
    let flows = (0..100).map(|d| (d, if d % 2 == 0 { big } else { -big })).collect();
    let h = history(99, i128::MAX - 10, flows);
    for method in [Method::RecurringResidual, Method::SeasonalNaive] {
        let f = forecast(&h, &[], &ForecastConfig { method, ..ForecastConfig::default() }).unwrap();
        assert_eq!(f.days.len(), 90);
    }
    let zero = ForecastConfig { horizon_days: 0, ..ForecastConfig::default() };
    assert_eq!(forecast(&h, &[], &zero), Err(ForecastError::Horizon(0)));
}

#[test]
fn the_same_history_gives_the_same_forecast() {
    let flows = (0..200i64)
        .map(|d| (d, if d % 30 == 0 { 200_000 } else { -4_000 - i128::from(d % 11) * 100 }))
        .collect();
    let h = history(199, 80_000, flows);
    let a = forecast(&h, &[], &ForecastConfig::default()).unwrap();
    assert_eq!(a, forecast(&h, &[], &ForecastConfig::default()).unwrap());
}

#[test]
fn dates_at_chronos_limits_are_typed_errors_not_panics() {
    let at = |as_of: NaiveDate, flows: Vec<NaiveDate>| CashHistory {
        as_of,
        currency: Asset::GBP,
        closing_balance_minor: 1_000,
        flows: flows
            .into_iter()
            .map(|date| Flow { date, amount_minor: -10, payee: "shop".into() })
            .collect(),
    };
    let config = ForecastConfig::default();
    for as_of in [NaiveDate::MAX, NaiveDate::MIN, NaiveDate::from_ymd_opt(10_000, 1, 1).unwrap()] {
        let edge = at(as_of, vec![as_of; 20]);
        assert_eq!(forecast(&edge, &[], &config), Err(ForecastError::DateOutOfRange(as_of)));
    }
    // Movements dated at chrono's first day, seen from a normal one: old, not a crash.
    let ancient = at(day(0), vec![NaiveDate::MIN, NaiveDate::MIN, NaiveDate::MIN]);
    assert!(forecast(&ancient, &[], &config).is_err());
    // The end of chrono's last day is its last microsecond, not a panic.
    let end = fintra_twin::end_of_day(NaiveDate::MAX);
    assert_eq!(end.date_naive(), NaiveDate::MAX);
    assert_eq!(end.timestamp_subsec_micros(), 999_999);
}
