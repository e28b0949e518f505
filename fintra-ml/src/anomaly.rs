//! "Am I okay?", per transaction: an unsupervised anomaly score with its reasons.
//!
//! The [`AnomalyScorer`] holds one person's behaviour and scores each money-out movement
//! before learning it. Each signal gives a piece of evidence in `0..1`; the score is
//! `1 − Π(1 − evidence)`, so one strong signal or several weak ones raise it, and no single
//! weak signal (a new shop, a late hour) can. A score at or above
//! [`AnomalyConfig::threshold`] (documented default [`ANOMALY_THRESHOLD`]) is an anomaly: the
//! caller appends it as `brain.risk.anomaly` with the reasons
//! ([`crate::insight::BrainEvent::anomaly`], then `new_event`).
//!
//! | signal | evidence |
//! |---|---|
//! | amount far off this payee's usual: robust z = (amount − median) / (1.4826 · MAD), floored | up to 0.9 from z = 4 |
//! | amount far off this category's usual (payee too new) | up to 0.55 from z = 5 |
//! | the same payee and amount again within an hour / a day | 0.75 / 0.35 |
//! | two or more earlier movements in the last hour | 0.3 at 2, +0.15 each, at most 0.8 |
//! | the same payee three or more times in an hour | 0.45 |
//! | at least two more movements in 24 hours than the busiest of the last 90 days (after 30 days) | 0.25 |
//! | a payee never seen (after [`AnomalyConfig::warm_up`] movements) | 0.25 |
//! | a country never seen | 0.45 |
//! | an hour of day that holds under 0.5 % of the history | 0.35 |
//!
//! Nothing here was fitted to the population generator's anomalies: the weights are round
//! numbers chosen so that only combinations pass the threshold, and the measured AUPRC and
//! false-alert rate are in `docs/brain.md`.

use std::collections::{HashMap, VecDeque};

use chrono::{NaiveDate, NaiveDateTime, NaiveTime, Timelike};
use serde::{Deserialize, Serialize};

use crate::num::{f, fu};

/// The default alert threshold.
pub const ANOMALY_THRESHOLD: f64 = 0.7;

/// How the scorer behaves.
#[derive(Clone, Debug, PartialEq)]
pub struct AnomalyConfig {
    /// Scores at or above this are anomalies.
    pub threshold: f64,
    /// Movements learned before "new payee" and "unusual hour" count.
    pub warm_up: usize,
    /// Amounts remembered per payee and category.
    pub memory: usize,
}

impl Default for AnomalyConfig {
    fn default() -> Self {
        Self { threshold: ANOMALY_THRESHOLD, warm_up: 30, memory: 60 }
    }
}

/// One movement to score.
#[derive(Clone, Debug, PartialEq)]
pub struct Observation<'a> {
    /// Booking date.
    pub date: NaiveDate,
    /// Time of day, when the source reports it (card networks do; most bank files do not).
    pub time: Option<NaiveTime>,
    /// The cleaned merchant or description.
    pub payee: &'a str,
    /// Category.
    pub category: &'a str,
    /// Signed amount (money out is negative).
    pub amount_minor: i128,
    /// ISO country of the merchant, when known.
    pub country: Option<&'a str>,
}

impl Observation<'_> {
    fn at(&self) -> NaiveDateTime {
        self.date.and_time(self.time.unwrap_or(NaiveTime::MIN))
    }
}

/// Why a movement looks unusual.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "signal", rename_all = "snake_case")]
pub enum Reason {
    /// Far off what this payee usually takes.
    AmountForPayee {
        /// Robust z.
        z: f64,
        /// The payee's median, minor units.
        #[serde(with = "crate::num::amount_serde")]
        usual_minor: i128,
    },
    /// Far off what this category usually costs.
    AmountForCategory {
        /// Robust z.
        z: f64,
        /// The category's median, minor units.
        #[serde(with = "crate::num::amount_serde")]
        usual_minor: i128,
    },
    /// The same payee and amount again.
    Duplicate {
        /// Minutes since the first.
        minutes: i64,
    },
    /// Many movements in the last hour.
    VelocityHour {
        /// Earlier movements within the hour.
        count: usize,
    },
    /// The same payee again and again within the hour.
    RepeatedPayee {
        /// Earlier movements to it within the hour.
        count: usize,
    },
    /// More movements in 24 hours than the busiest usual day.
    VelocityDay {
        /// Movements in the last 24 hours, this one included.
        count: usize,
    },
    /// A payee never seen before.
    NewPayee,
    /// A country never seen before.
    NewCountry {
        /// The country.
        country: String,
    },
    /// An hour of day the person is almost never active in.
    UnusualHour {
        /// The hour.
        hour: u32,
    },
}

/// A score and what drove it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct AnomalyScore {
    /// `0..=1`.
    pub score: f64,
    /// At or above the threshold.
    pub anomalous: bool,
    /// The signals that fired, with their evidence, strongest first.
    pub reasons: Vec<(Reason, f64)>,
}

/// Robust location and spread of remembered amounts.
fn robust(amounts: &VecDeque<i128>) -> Option<(i128, f64)> {
    if amounts.is_empty() {
        return None;
    }
    let mut sorted: Vec<i128> = amounts.iter().copied().collect();
    sorted.sort_unstable();
    let median = sorted[sorted.len() / 2];
    let mut deviations: Vec<i128> = sorted.iter().map(|a| (a - median).abs()).collect();
    deviations.sort_unstable();
    let mad = deviations[deviations.len() / 2];
    // A floor: a payee that always takes the same amount still has some spread.
    let spread = (1.4826 * f(mad)).max(0.1 * f(median)).max(100.0);
    Some((median, spread))
}

/// One person's behaviour.
#[derive(Clone, Debug, Default)]
pub struct AnomalyScorer {
    config: AnomalyConfig,
    payees: HashMap<String, VecDeque<i128>>,
    categories: HashMap<String, VecDeque<i128>>,
    countries: HashMap<String, usize>,
    /// Recent movements: when, payee, amount (the last 24 hours).
    recent: VecDeque<(NaiveDateTime, String, i128)>,
    /// Movements per day, for the busiest usual day.
    days: VecDeque<(NaiveDate, usize)>,
    hours: [usize; 24],
    timed: usize,
    seen: usize,
}

impl AnomalyScorer {
    /// A scorer that knows nothing yet.
    pub fn new(config: AnomalyConfig) -> Self {
        Self { config, ..Self::default() }
    }

    /// Scores `o` against what came before, then learns it. Money in scores 0.
    pub fn observe(&mut self, o: &Observation<'_>) -> AnomalyScore {
        let score = self.score(o);
        self.learn(o);
        score
    }

    /// Scores `o` without learning it.
    pub fn score(&self, o: &Observation<'_>) -> AnomalyScore {
        let mut reasons: Vec<(Reason, f64)> = Vec::new();
        if o.amount_minor < 0 {
            self.amount_signals(o, &mut reasons);
            self.time_signals(o, &mut reasons);
            self.novelty_signals(o, &mut reasons);
        }
        reasons.sort_by(|a, b| b.1.total_cmp(&a.1));
        let keep = reasons.iter().fold(1.0, |acc, (_, e)| acc * (1.0 - e.clamp(0.0, 1.0)));
        let score = (1.0 - keep).clamp(0.0, 1.0);
        AnomalyScore { score, anomalous: score >= self.config.threshold, reasons }
    }

    fn amount_signals(&self, o: &Observation<'_>, reasons: &mut Vec<(Reason, f64)>) {
        let amount = o.amount_minor.saturating_abs();
        let payee = self.payees.get(o.payee).filter(|a| a.len() >= 3);
        if let Some((usual, spread)) = payee.and_then(robust) {
            let z = f(amount - usual) / spread;
            if z > 4.0 {
                let evidence = (0.5 + (z - 4.0) * 0.05).min(0.9);
                reasons.push((Reason::AmountForPayee { z, usual_minor: usual }, evidence));
            }
        } else if let Some((usual, spread)) =
            self.categories.get(o.category).filter(|a| a.len() >= 5).and_then(robust)
        {
            let z = f(amount - usual) / spread;
            if z > 5.0 {
                let evidence = (0.3 + (z - 5.0) * 0.03).min(0.55);
                reasons.push((Reason::AmountForCategory { z, usual_minor: usual }, evidence));
            }
        }
    }

    fn time_signals(&self, o: &Observation<'_>, reasons: &mut Vec<(Reason, f64)>) {
        let now = o.at();
        let within = |minutes: i64| {
            self.recent.iter().filter(move |(t, _, _)| {
                let age = (now - *t).num_minutes();
                (0..minutes).contains(&age)
            })
        };
        let same =
            |(_, p, a): &&(NaiveDateTime, String, i128)| p == o.payee && *a == o.amount_minor;
        if o.time.is_some() {
            if let Some((t, _, _)) = within(60).find(same) {
                reasons.push((Reason::Duplicate { minutes: (now - *t).num_minutes() }, 0.75));
            } else if let Some((t, _, _)) = within(24 * 60).find(same) {
                reasons.push((Reason::Duplicate { minutes: (now - *t).num_minutes() }, 0.35));
            }
            let hour = within(60).count();
            if hour >= 2 {
                let evidence = (0.3 + 0.15 * fu(hour - 2)).min(0.8);
                reasons.push((Reason::VelocityHour { count: hour }, evidence));
            }
            let repeats = within(60).filter(|(_, p, _)| p == o.payee).count();
            if repeats >= 2 {
                reasons.push((Reason::RepeatedPayee { count: repeats }, 0.45));
            }
        } else if let Some(_first) = within(24 * 60).find(same) {
            // Dates only: the same payee and amount on the same day.
            reasons.push((Reason::Duplicate { minutes: 0 }, 0.35));
        }
        let day = within(24 * 60).count() + 1;
        if self.days.len() >= 30 {
            let busiest = self.days.iter().map(|(_, n)| *n).max().unwrap_or(0);
            if day > busiest + 1 {
                reasons.push((Reason::VelocityDay { count: day }, 0.25));
            }
        }
        if let Some(t) = o.time {
            let hour = t.hour();
            let share = fu(self.hours[hour as usize]) / fu(self.timed.max(1));
            if self.timed >= 100 && share < 0.005 {
                reasons.push((Reason::UnusualHour { hour }, 0.35));
            }
        }
    }

    fn novelty_signals(&self, o: &Observation<'_>, reasons: &mut Vec<(Reason, f64)>) {
        if self.seen < self.config.warm_up {
            return;
        }
        if !self.payees.contains_key(o.payee) {
            reasons.push((Reason::NewPayee, 0.25));
        }
        if let Some(country) = o.country
            && !self.countries.is_empty()
            && !self.countries.contains_key(country)
        {
            reasons.push((Reason::NewCountry { country: country.to_owned() }, 0.45));
        }
    }

    /// Learns `o` without scoring it (history replayed at start-up).
    pub fn learn(&mut self, o: &Observation<'_>) {
        let now = o.at();
        while self.recent.front().is_some_and(|(t, _, _)| (now - *t).num_hours() >= 24) {
            self.recent.pop_front();
        }
        match self.days.back_mut() {
            Some((d, n)) if *d == o.date => *n += 1,
            _ => {
                self.days.push_back((o.date, 1));
                if self.days.len() > 90 {
                    self.days.pop_front();
                }
            }
        }
        if let Some(country) = o.country {
            *self.countries.entry(country.to_owned()).or_default() += 1;
        }
        if o.amount_minor >= 0 {
            return;
        }
        let memory = self.config.memory.max(3);
        for (key, map) in [(o.payee, &mut self.payees), (o.category, &mut self.categories)] {
            let amounts = map.entry(key.to_owned()).or_default();
            amounts.push_back(o.amount_minor.saturating_abs());
            if amounts.len() > memory {
                amounts.pop_front();
            }
        }
        self.recent.push_back((now, o.payee.to_owned(), o.amount_minor));
        if let Some(t) = o.time {
            self.hours[t.hour() as usize] += 1;
            self.timed += 1;
        }
        self.seen += 1;
    }
}

/// Average precision (the area under the precision–recall curve) of `scored` (score, is a
/// true anomaly), ties broken against the scorer.
pub fn average_precision(scored: &[(f64, bool)]) -> f64 {
    let positives = scored.iter().filter(|s| s.1).count();
    if positives == 0 {
        return 0.0;
    }
    let mut sorted: Vec<(f64, bool)> = scored.to_vec();
    // Highest first; among equal scores the negatives first (pessimistic).
    sorted.sort_by(|a, b| b.0.total_cmp(&a.0).then(a.1.cmp(&b.1)));
    let (mut hits, mut sum) = (0usize, 0.0);
    for (rank, (_, positive)) in sorted.iter().enumerate() {
        if *positive {
            hits += 1;
            sum += fu(hits) / fu(rank + 1);
        }
    }
    sum / fu(positives)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn obs<'a>(day: u32, hour: u32, payee: &'a str, amount: i128) -> Observation<'a> {
        Observation {
            date: NaiveDate::from_ymd_opt(2024, 3, day).unwrap_or_default(),
            time: NaiveTime::from_hms_opt(hour, 0, 0),
            payee,
            category: "Groceries > Supermarket",
            amount_minor: amount,
            country: Some("GB"),
        }
    }

    #[test]
    fn a_usual_shop_is_quiet_and_ten_times_the_usual_is_not() {
        let mut scorer = AnomalyScorer::default();
        for day in 1..=28 {
            for (i, payee) in ["Tesco", "Costa", "Pret"].into_iter().enumerate() {
                let amount = -(3_000 + i128::from(day % 5) * 200 + i128::try_from(i).unwrap_or(0));
                let hour = 9 + u32::try_from(i).unwrap_or(0) * 3;
                scorer.observe(&obs(day, hour, payee, amount));
            }
        }
        let usual = scorer.score(&obs(29, 10, "Tesco", -3_400));
        assert!(!usual.anomalous && usual.reasons.is_empty(), "{usual:?}");
        let far = scorer.score(&obs(29, 10, "Tesco", -34_000));
        assert!(far.anomalous, "{far:?}");
        assert!(matches!(far.reasons[0].0, Reason::AmountForPayee { .. }));
        let night = Observation { country: Some("NG"), ..obs(29, 3, "Lagos Digital", -9_000) };
        let scored = scorer.score(&night);
        assert!(scored.anomalous, "{scored:?}");
        assert_eq!(scored.reasons.len(), 3, "{scored:?}");
        assert!(!scorer.score(&obs(29, 12, "Money In", 250_000)).anomalous);
    }

    #[test]
    fn average_precision_of_a_perfect_and_a_useless_ranking() {
        let perfect = [(0.9, true), (0.8, true), (0.1, false)];
        assert!((average_precision(&perfect) - 1.0).abs() < 1e-12);
        let tied = [(0.5, true), (0.5, false)];
        assert!((average_precision(&tied) - 0.5).abs() < 1e-12);
        assert!(average_precision(&[(0.1, false)]).abs() < f64::EPSILON);
    }
}
