//! A seeded population of synthetic people with known truth, for measuring forecasts,
//! recurrence detection and anomaly scores (never for training them).
//!
//! Each profile has one current account and 24 (configurable) months of statement lines:
//!
//! - income: a monthly salary paid on a fixed day, moved to the Friday before when that day is a
//!   weekend; or four-weekly or weekly pay on Fridays; or irregular freelance payments. Pay
//!   rises each April;
//! - rent (standing order) or a mortgage (direct debit), moved to the next working day;
//! - three to five bills with annual price changes in April, council tax in ten instalments;
//! - one to four subscriptions that start and stop;
//! - everyday spending (groceries, coffee, eating out, transport, shopping, cash) with more in
//!   December, a summer holiday abroad for most, a long tail of one-off shops;
//! - one-off shocks (a car repair, a vet) and, when the month ends overdrawn, overdraft interest;
//! - injected anomalies at a known rate: duplicate charges, amounts far off a payee's usual,
//!   new foreign merchants at night, bursts of card payments.
//!
//! The statement itself ([`SyntheticProfile::csv`]) carries only what a bank export carries
//! (date, description, amount, balance): it goes through Connect like any other file. The
//! truth — which line belongs to which recurring stream, which lines are anomalies, and the
//! time and country a card network would report — stays on [`SyntheticLine`] for evaluation.

use chrono::{Datelike, Duration, Months, NaiveDate, NaiveTime, Weekday};
use fintra_twin::fos::{FlowType, Frequency};

use crate::num::{f, fu, minor};
use crate::rng::Rng;

mod import;
mod names;
mod spending;
pub use import::{ImportError, import, import_into};
use names::{BILLS, CLIENTS, COUNCILS, EMPLOYERS, LANDLORDS, LENDERS, SUBSCRIPTIONS};

/// What to generate.
#[derive(Clone, Debug)]
pub struct PopulationConfig {
    /// How many people.
    pub profiles: usize,
    /// Months of history each.
    pub months: u32,
    /// The first day of every history.
    pub start: NaiveDate,
    /// Chance, per card purchase, that an anomaly is injected next to it.
    pub anomaly_rate: f64,
    /// The seed: the same seed gives the same population.
    pub seed: u64,
}

impl Default for PopulationConfig {
    fn default() -> Self {
        Self {
            profiles: 1_000,
            months: 24,
            start: NaiveDate::from_ymd_opt(2023, 1, 1).unwrap_or_default(),
            anomaly_rate: 0.002,
            seed: 2026,
        }
    }
}

/// The kinds of injected anomaly.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum AnomalyKind {
    /// The same charge again, minutes later.
    Duplicate,
    /// A usual payee, at five to fifteen times the usual amount.
    FarOffAmount,
    /// A merchant never seen, abroad, between 01:00 and 05:00.
    ForeignAtNight,
    /// Four to seven card payments within half an hour at a new online shop.
    Burst,
}

/// One statement line and its truth.
#[derive(Clone, Debug, PartialEq)]
pub struct SyntheticLine {
    /// Booking date.
    pub date: NaiveDate,
    /// The time a card network would report.
    pub time: NaiveTime,
    /// The statement text.
    pub description: String,
    /// Signed amount (money out is negative), pence.
    pub amount_minor: i128,
    /// ISO country of the merchant.
    pub country: &'static str,
    /// The recurring stream it belongs to (an index into [`SyntheticProfile::streams`]).
    pub stream: Option<usize>,
    /// Set when the line is an injected anomaly.
    pub anomaly: Option<AnomalyKind>,
}

/// A recurring stream as generated: the truth recurrence detection is measured against.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TruthStream {
    /// The statement text its lines carry.
    pub description: String,
    /// Money in or out.
    pub flow: FlowType,
    /// Its period.
    pub frequency: Frequency,
    /// Every date it was paid on, in order.
    pub dates: Vec<NaiveDate>,
}

impl TruthStream {
    /// The first payment after `day`, if it happened within the history.
    pub fn next_after(&self, day: NaiveDate) -> Option<NaiveDate> {
        self.dates.iter().copied().find(|d| *d > day)
    }

    /// How many payments fell on or before `day`.
    pub fn paid_by(&self, day: NaiveDate) -> usize {
        self.dates.iter().filter(|d| **d <= day).count()
    }
}

/// One synthetic person.
#[derive(Clone, Debug, PartialEq)]
pub struct SyntheticProfile {
    /// Position in the population.
    pub index: usize,
    /// Balance before the first line, pence.
    pub opening_balance_minor: i128,
    /// The lines, in booking order.
    pub lines: Vec<SyntheticLine>,
    /// The recurring streams.
    pub streams: Vec<TruthStream>,
}

impl SyntheticProfile {
    /// The statement as a bank's CSV export: `Date,Description,Amount,Balance` with
    /// `dd/mm/yyyy` dates (Connect's `signed_amount_preset`).
    pub fn csv(&self) -> String {
        let mut out = String::from("Date,Description,Amount,Balance\n");
        let mut balance = self.opening_balance_minor;
        for line in &self.lines {
            balance += line.amount_minor;
            out.push_str(&format!(
                "{},{},{},{}\n",
                line.date.format("%d/%m/%Y"),
                line.description.replace(',', " "),
                pounds(line.amount_minor),
                pounds(balance)
            ));
        }
        out
    }

    /// The end-of-day balance on `day` (the opening balance before the first line).
    pub fn balance_on(&self, day: NaiveDate) -> i128 {
        self.opening_balance_minor
            + self.lines.iter().filter(|l| l.date <= day).map(|l| l.amount_minor).sum::<i128>()
    }
}

/// `-1234` as `-12.34`.
fn pounds(minor: i128) -> String {
    let sign = if minor < 0 { "-" } else { "" };
    let abs = minor.unsigned_abs();
    format!("{sign}{}.{:02}", abs / 100, abs % 100)
}

/// A population with `config`.
pub fn generate(config: &PopulationConfig) -> Vec<SyntheticProfile> {
    (0..config.profiles)
        .map(|index| {
            let seed = config.seed.wrapping_mul(1_000_003).wrapping_add(index as u64);
            Person::new(index, config, seed).live()
        })
        .collect()
}

/// When the income arrives.
#[derive(Clone, Copy)]
enum Pay {
    Monthly { day: u32 },
    FourWeekly,
    Weekly,
    Freelance,
}

struct Person<'a> {
    rng: Rng,
    config: &'a PopulationConfig,
    index: usize,
    lines: Vec<SyntheticLine>,
    streams: Vec<TruthStream>,
    /// Monthly take-home pay, pence.
    income: f64,
    /// Multiplier on everyday spending.
    lifestyle: f64,
}

fn at(hour: u32, minute: u32) -> NaiveTime {
    NaiveTime::from_hms_opt(hour.min(23), minute.min(59), 0).unwrap_or(NaiveTime::MIN)
}

fn is_weekend(day: NaiveDate) -> bool {
    matches!(day.weekday(), Weekday::Sat | Weekday::Sun)
}

/// The working day on or before `day`.
fn roll_back(mut day: NaiveDate) -> NaiveDate {
    while is_weekend(day) {
        day = day.pred_opt().unwrap_or(day);
    }
    day
}

/// The working day on or after `day`.
fn roll_forward(mut day: NaiveDate) -> NaiveDate {
    while is_weekend(day) {
        day = day.succ_opt().unwrap_or(day);
    }
    day
}

/// `day` of the month of `month_start`, clamped to the month's length.
fn day_of(month_start: NaiveDate, day: u32) -> NaiveDate {
    (0..4)
        .find_map(|back| month_start.with_day(day.saturating_sub(back).max(1)))
        .unwrap_or(month_start)
}

impl<'a> Person<'a> {
    fn new(index: usize, config: &'a PopulationConfig, seed: u64) -> Self {
        let mut rng = Rng::new(seed);
        let income = rng.range(140_000.0, 450_000.0);
        let lifestyle = rng.range(0.6, 1.5) * (income / 250_000.0).sqrt();
        Self { rng, config, index, lines: Vec::new(), streams: Vec::new(), income, lifestyle }
    }

    fn end(&self) -> NaiveDate {
        self.config
            .start
            .checked_add_months(Months::new(self.config.months))
            .and_then(|d| d.pred_opt())
            .unwrap_or(self.config.start)
    }

    fn months(&self) -> impl Iterator<Item = NaiveDate> + use<> {
        let start = self.config.start.with_day(1).unwrap_or(self.config.start);
        (0..self.config.months).filter_map(move |m| start.checked_add_months(Months::new(m)))
    }

    fn push(&mut self, date: NaiveDate, time: NaiveTime, description: String, amount: i128) {
        self.lines.push(SyntheticLine {
            date,
            time,
            description,
            amount_minor: amount,
            country: "GB",
            stream: None,
            anomaly: None,
        });
    }

    /// A recurring stream: its lines, each tagged, and its truth.
    fn stream(
        &mut self,
        description: &str,
        frequency: Frequency,
        payments: Vec<(NaiveDate, i128)>,
    ) {
        let end = self.end();
        let id = self.streams.len();
        let flow = if payments.first().is_some_and(|p| p.1 > 0) {
            FlowType::Income
        } else {
            FlowType::Expense
        };
        let mut dates = Vec::new();
        for (date, amount) in payments {
            if date < self.config.start || date > end || amount == 0 {
                continue;
            }
            dates.push(date);
            self.lines.push(SyntheticLine {
                date,
                time: at(6, 0),
                description: description.to_owned(),
                amount_minor: amount,
                country: "GB",
                stream: Some(id),
                anomaly: None,
            });
        }
        self.streams.push(TruthStream {
            description: description.to_owned(),
            flow,
            frequency,
            dates,
        });
    }

    /// An amount that rises by `rise` (a share, drawn each April) every April.
    fn april_rises(&mut self, base: f64, low: f64, high: f64) -> Vec<f64> {
        let mut amount = base;
        let months: Vec<NaiveDate> = self.months().collect();
        months
            .iter()
            .map(|m| {
                if m.month() == 4 && *m > self.config.start {
                    amount *= 1.0 + self.rng.range(low, high);
                }
                amount
            })
            .collect()
    }

    fn income(&mut self) {
        let employer = *self.rng.pick(EMPLOYERS).unwrap_or(&"ACME LTD");
        let pay = match self.rng.below(10) {
            0..=5 => Pay::Monthly { day: 24 + u32::try_from(self.rng.below(5)).unwrap_or(0) },
            6 => Pay::FourWeekly,
            7 | 8 => Pay::Weekly,
            _ => Pay::Freelance,
        };
        let monthly = self.april_rises(self.income, 0.0, 0.05);
        let months: Vec<NaiveDate> = self.months().collect();
        let description = format!("{employer} SALARY");
        let round = |x: f64| minor((x / 100.0).round()) * 100;
        match pay {
            Pay::Monthly { day } => {
                let payments = months
                    .iter()
                    .zip(&monthly)
                    .map(|(m, a)| (roll_back(day_of(*m, day)), round(*a)))
                    .collect();
                self.stream(&description, Frequency::Monthly, payments);
            }
            Pay::FourWeekly | Pay::Weekly => {
                let (step, share, frequency) = match pay {
                    Pay::Weekly => (7, 12.0 / 52.0, Frequency::Weekly),
                    _ => (28, 12.0 / 13.0, Frequency::FourWeekly),
                };
                let mut day = self.config.start;
                while day.weekday() != Weekday::Fri {
                    day = day.succ_opt().unwrap_or(day);
                }
                day += Duration::days(i64::try_from(self.rng.below(step)).unwrap_or(0) / 7 * 7);
                let mut payments = Vec::new();
                while day <= self.end() {
                    let m = usize::try_from(
                        (day.year() - self.config.start.year()) * 12 + day.month0().cast_signed()
                            - self.config.start.month0().cast_signed(),
                    )
                    .unwrap_or(0);
                    let a = monthly.get(m).copied().unwrap_or(self.income) * share;
                    payments.push((day, round(a)));
                    day += Duration::days(i64::try_from(step).unwrap_or(7));
                }
                self.stream(&description, frequency, payments);
            }
            Pay::Freelance => {
                for (m, a) in months.iter().zip(&monthly) {
                    let n = 1 + self.rng.below(4);
                    for _ in 0..n {
                        let day = roll_forward(day_of(
                            *m,
                            1 + u32::try_from(self.rng.below(28)).unwrap_or(0),
                        ));
                        let client = *self.rng.pick(CLIENTS).unwrap_or(&"CLIENT");
                        let share = a / fu(n) * self.rng.range(0.3, 1.7);
                        let amount = minor(share).max(5_000);
                        self.push(day, at(10, 0), format!("FASTER PAYMENT FROM {client}"), amount);
                    }
                }
            }
        }
    }

    fn housing(&mut self) {
        let share = self.rng.range(0.22, 0.4);
        let day = 1 + u32::try_from(self.rng.below(5)).unwrap_or(0);
        let (description, rise) = if self.rng.chance(0.6) {
            let landlord = *self.rng.pick(LANDLORDS).unwrap_or(&"LANDLORD");
            (format!("STANDING ORDER TO {landlord} RENT"), (0.0, 0.06))
        } else {
            let lender = *self.rng.pick(LENDERS).unwrap_or(&"LENDER");
            (format!("DIRECT DEBIT {lender} MORTGAGE"), (-0.02, 0.08))
        };
        let amounts = self.april_rises(self.income * share, rise.0, rise.1);
        let months: Vec<NaiveDate> = self.months().collect();
        let payments = months
            .iter()
            .zip(amounts)
            .map(|(m, a)| (roll_forward(day_of(*m, day)), -minor(a)))
            .collect();
        self.stream(&description, Frequency::Monthly, payments);
    }

    fn bills(&mut self) {
        let n = 3 + self.rng.below(3);
        let mut chosen: Vec<usize> = Vec::new();
        while chosen.len() < n {
            let i = self.rng.below(BILLS.len());
            if !chosen.contains(&i) {
                chosen.push(i);
            }
        }
        let months: Vec<NaiveDate> = self.months().collect();
        for i in chosen {
            let (description, low, high) = BILLS[i];
            let base = self.rng.range(f(low.into()), f(high.into()));
            let amounts = self.april_rises(base, 0.02, 0.12);
            let day = 1 + u32::try_from(self.rng.below(28)).unwrap_or(0);
            let payments = months
                .iter()
                .zip(amounts)
                .map(|(m, a)| (roll_forward(day_of(*m, day)), -minor(a)))
                .collect();
            self.stream(description, Frequency::Monthly, payments);
        }
        // Council tax: ten instalments, April to January, a new amount each April.
        let council = *self.rng.pick(COUNCILS).unwrap_or(&"COUNCIL");
        let base = self.rng.range(11_000.0, 22_000.0);
        let amounts = self.april_rises(base, 0.03, 0.05);
        let payments = months
            .iter()
            .zip(amounts)
            .filter(|(m, _)| !matches!(m.month(), 2 | 3))
            .map(|(m, a)| (roll_forward(day_of(*m, 1)), -minor(a)))
            .collect();
        // Ten of twelve months: monthly with a two-month break each year.
        let description = format!("DIRECT DEBIT {council} COUNCIL TAX");
        self.stream(&description, Frequency::Monthly, payments);
    }

    fn subscriptions(&mut self) {
        let n = 1 + self.rng.below(4);
        let months: Vec<NaiveDate> = self.months().collect();
        let mut chosen: Vec<usize> = Vec::new();
        while chosen.len() < n {
            let i = self.rng.below(SUBSCRIPTIONS.len());
            if !chosen.contains(&i) {
                chosen.push(i);
            }
        }
        for i in chosen {
            let (description, price) = SUBSCRIPTIONS[i];
            let first = if self.rng.chance(0.6) { 0 } else { self.rng.below(months.len()) };
            let last = if self.rng.chance(0.25) {
                (first + 3 + self.rng.below(months.len())).min(months.len())
            } else {
                months.len()
            };
            let day = 1 + u32::try_from(self.rng.below(28)).unwrap_or(0);
            let payments = months
                .iter()
                .enumerate()
                .filter(|(k, _)| *k >= first && *k < last)
                .map(|(_, m)| (day_of(*m, day), -i128::from(price)))
                .collect();
            self.stream(description, Frequency::Monthly, payments);
        }
    }

    /// Sorts the lines and charges overdraft interest for months that end overdrawn.
    fn settle(&mut self, opening: i128) {
        self.lines.sort_by_key(|l| (l.date, l.time));
        let mut out: Vec<SyntheticLine> = Vec::with_capacity(self.lines.len() + 24);
        let mut balance = opening;
        for line in std::mem::take(&mut self.lines) {
            if out.last().is_some_and(|previous| previous.date.month() != line.date.month())
                && balance < 0
            {
                let fee = (balance.unsigned_abs() / 60).max(500);
                let fee = i128::try_from(fee).unwrap_or(500);
                out.push(SyntheticLine {
                    date: line.date,
                    time: at(0, 30),
                    description: "ARRANGED OVERDRAFT INTEREST".to_owned(),
                    amount_minor: -fee,
                    country: "GB",
                    stream: None,
                    anomaly: None,
                });
                balance -= fee;
            }
            balance += line.amount_minor;
            out.push(line);
        }
        self.lines = out;
    }

    fn live(mut self) -> SyntheticProfile {
        let opening = minor(self.rng.range(20_000.0, 400_000.0));
        self.income();
        self.housing();
        self.bills();
        self.subscriptions();
        self.everyday();
        self.shocks();
        self.settle(opening);
        SyntheticProfile {
            index: self.index,
            opening_balance_minor: opening,
            lines: self.lines,
            streams: self.streams,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_same_seed_gives_the_same_people() {
        let config = PopulationConfig { profiles: 3, ..PopulationConfig::default() };
        let a = generate(&config);
        assert_eq!(a, generate(&config));
        for p in &a {
            assert!(p.lines.len() > 500, "24 months of lines: {}", p.lines.len());
            assert!(p.lines.windows(2).all(|w| w[0].date <= w[1].date));
            assert!(p.streams.iter().all(|s| s.dates.windows(2).all(|w| w[0] < w[1])));
        }
    }

    #[test]
    fn salaries_on_a_weekend_move_to_the_friday_before() {
        let sat = NaiveDate::from_ymd_opt(2024, 5, 25).unwrap_or_default();
        assert_eq!(roll_back(sat).weekday(), Weekday::Fri);
        assert_eq!(roll_forward(sat).weekday(), Weekday::Mon);
        assert_eq!(pounds(-1_234), "-12.34");
        assert_eq!(pounds(5), "0.05");
    }
}
