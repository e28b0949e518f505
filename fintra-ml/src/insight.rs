//! "What should I do?": the Brain's risk, nudge and insight events — the rules fire each once
//! per transition and never repeat it while its condition holds; `brain.risk.anomaly` comes
//! from an anomalous score ([`BrainEvent::anomaly`]); [`BrainEvent::new_event`] makes any of
//! them an event for the profile's `brain-…` stream ([`brain_stream`]), where Pulse sends it.
//!
//! [`InsightState`] remembers what it has said for one profile (serialisable, so a host keeps
//! it beside its checkpoint). Each [`InsightState::evaluate`] takes the profile's current
//! [`Signals`] and returns only what changed:
//!
//! | event | fires when | re-arms when |
//! |---|---|---|
//! | `brain.risk.overdraft_warning` (`days_until_zero`, `amount_minor`) | the forecast's P10 falls below zero within [`InsightRules::warning_days`] | P10 stays above zero for `warning_days + 7` days |
//! | `brain.nudge.idle_cash` (`moveable_amount_minor`) | cash beyond [`InsightRules::idle_months_of_burn`] months of spending reaches [`InsightRules::idle_minimum_minor`] | it falls under half of that |
//! | `brain.insight.salary_received` (`amount_minor`, `confidence`) | a payment of a recurring earned-income stream (not interest or dividends), dated within a week of the last look, is booked | — (each payment once) |
//! | `brain.risk.budget_threshold` (`category`, `percent`) | a category's spend this month crosses a level of [`InsightRules::budget_levels`] of its budget (the highest newly crossed, once per look) | the next month |
//!
//! The hysteresis on the first two keeps a balance that hovers at a threshold from alerting
//! every day. The idle-cash nudge knows nothing of interest rates (the twin holds none): it
//! says how much is beyond a buffer, not where to put it.

use std::collections::{BTreeMap, BTreeSet};

use chrono::{Datelike, NaiveDate};
use fintra_core::{
    Asset, ContentType, EventMetadata, NewEvent, SUBJECT_HEADER, StreamId, TenantId,
};
use fintra_twin::fos::FlowType;
use fintra_twin::{Profile, cashflow, spend_by_category};
use serde::{Deserialize, Serialize};

use crate::anomaly::{AnomalyScore, Reason};
use crate::forecast::{BalanceForecast, CashHistory};
use crate::slow::content_id;
use crate::taxonomy::display;

/// A Pulse-deliverable Brain event.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type")]
pub enum BrainEvent {
    /// The forecast's P10 goes below zero soon.
    #[serde(rename = "brain.risk.overdraft_warning")]
    OverdraftWarning {
        /// Days until P10 first falls below zero.
        days_until_zero: u32,
        /// The lowest P10 balance within the warning window (negative), minor units.
        #[serde(with = "crate::num::amount_serde")]
        amount_minor: i128,
        /// Currency.
        currency: Asset,
    },
    /// Cash beyond the buffer that could be moved.
    #[serde(rename = "brain.nudge.idle_cash")]
    IdleCash {
        /// How much is beyond the buffer, minor units.
        #[serde(with = "crate::num::amount_serde")]
        moveable_amount_minor: i128,
        /// Currency.
        currency: Asset,
    },
    /// A payment of a recurring income stream arrived.
    #[serde(rename = "brain.insight.salary_received")]
    SalaryReceived {
        /// The transaction.
        transaction_id: String,
        /// The payer.
        merchant: String,
        /// Amount, minor units.
        #[serde(with = "crate::num::amount_serde")]
        amount_minor: i128,
        /// The stream's confidence, 0..=1.
        confidence: f64,
    },
    /// A transaction the fast brain scored as anomalous ([`BrainEvent::anomaly`]).
    #[serde(rename = "brain.risk.anomaly")]
    Anomaly {
        /// The transaction.
        transaction_id: String,
        /// The score, `0..=1`, at or above [`crate::anomaly::ANOMALY_THRESHOLD`].
        score: f64,
        /// The signals that fired, strongest first.
        reasons: Vec<Reason>,
    },
    /// A category's spend this month crossed a share of its budget.
    #[serde(rename = "brain.risk.budget_threshold")]
    BudgetThreshold {
        /// The category, as [`spend_by_category`] names it.
        category: String,
        /// The first day of the month.
        month: NaiveDate,
        /// Spent so far, minor units.
        #[serde(with = "crate::num::amount_serde")]
        spent_minor: i128,
        /// The budget, minor units.
        #[serde(with = "crate::num::amount_serde")]
        budget_minor: i128,
        /// The level crossed, in percent of the budget.
        percent: u32,
    },
}

impl BrainEvent {
    /// The Pulse event type (`brain.risk.overdraft_warning`, …).
    pub fn event_type(&self) -> &'static str {
        match self {
            Self::OverdraftWarning { .. } => "brain.risk.overdraft_warning",
            Self::IdleCash { .. } => "brain.nudge.idle_cash",
            Self::SalaryReceived { .. } => "brain.insight.salary_received",
            Self::BudgetThreshold { .. } => "brain.risk.budget_threshold",
            Self::Anomaly { .. } => "brain.risk.anomaly",
        }
    }

    /// `brain.risk.anomaly` for `transaction_id` when `score` is anomalous; `None` otherwise.
    pub fn anomaly(transaction_id: &str, score: &AnomalyScore) -> Option<Self> {
        score.anomalous.then(|| Self::Anomaly {
            transaction_id: transaction_id.to_owned(),
            score: score.score,
            reasons: score.reasons.iter().map(|(reason, _)| reason.clone()).collect(),
        })
    }

    /// The event about the twin in `profile` (its `profile-…` stream) to append to its Brain
    /// stream, [`brain_stream`]`(profile)`, where Pulse's webhook delivery
    /// (`fintra_projections::pulse::PulseDelivery`) picks it up by type (a subscription to
    /// `brain.*`). Typed [`event_type`](Self::event_type), JSON (the fields above, with
    /// `type`), dated the end of `day` (the day the Brain looked). Its metadata holds `tenant`
    /// and names `profile` as the data subject ([`SUBJECT_HEADER`]), so a `fintra-guard` store
    /// seals it with the profile's key and erases it with the profile.
    ///
    /// Everything in it follows from `(profile, tenant, day, self)`, and its id is derived from
    /// them: appending the same firing again — alone, or in the same batch as before: a retry
    /// after a crash, a re-evaluation of the same day — is an idempotent replay, never a
    /// second delivery.
    ///
    /// # Errors
    /// `InvalidInput` for a non-finite `confidence`, `score` or reason (JSON has no NaN);
    /// `Codec` if the body does not encode.
    pub fn new_event(
        &self,
        profile: &StreamId,
        tenant: &TenantId,
        day: NaiveDate,
    ) -> fintra_core::Result<NewEvent> {
        let payload = serde_json::to_vec(self).map_err(|e| fintra_core::Error::Codec {
            event_type: self.event_type().to_owned(),
            schema_version: 1,
            source: e.into(),
        })?;
        // JSON writes a NaN or an infinity as `null`, which would not read back: refuse it.
        if serde_json::from_slice::<Self>(&payload).ok().as_ref() != Some(self) {
            let reason = "holds a number JSON cannot carry (NaN or infinite)";
            return Err(fintra_core::Error::invalid("brain event", reason));
        }
        Ok(output_event(profile, tenant, None, self.event_type(), day, payload))
    }
}

/// A Brain output about the twin in `profile`, for its Brain stream: JSON `payload`, dated the
/// end of `day`, with `tenant`, the profile as the data subject ([`SUBJECT_HEADER`]) and
/// `causation` in its metadata, and an id derived from the profile, type, time and body.
pub(crate) fn output_event(
    profile: &StreamId,
    tenant: &TenantId,
    causation: Option<uuid::Uuid>,
    event_type: &str,
    day: NaiveDate,
    payload: Vec<u8>,
) -> NewEvent {
    let occurred_at = fintra_twin::end_of_day(day);
    let mut metadata = EventMetadata {
        tenant_id: tenant.clone(),
        causation_id: causation,
        ..EventMetadata::default()
    };
    metadata.headers.insert(SUBJECT_HEADER.to_owned(), profile.as_str().to_owned());
    NewEvent {
        event_id: content_id(profile, event_type, occurred_at, &payload),
        event_type: event_type.to_owned(),
        schema_version: 1,
        occurred_at,
        metadata,
        content_type: ContentType::json(),
        payload: payload.into(),
    }
}

/// The stream of a profile's Brain outputs — `brain-<id>` for `profile-<id>` (any other
/// name: `brain-<name>`) — where [`BrainEvent`]s and `ForecastUpdated` go.
///
/// # Errors
/// `InvalidInput` when the name would exceed the stream-id limit.
pub fn brain_stream(profile: &StreamId) -> fintra_core::Result<StreamId> {
    let id = profile.as_str().strip_prefix("profile-").unwrap_or(profile.as_str());
    StreamId::new(format!("brain-{id}"))
}

/// The thresholds.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct InsightRules {
    /// Warn when P10 goes below zero within this many days.
    pub warning_days: u32,
    /// Months of spending kept as a buffer before cash counts as idle.
    pub idle_months_of_burn: i128,
    /// The smallest idle amount worth a nudge, minor units.
    pub idle_minimum_minor: i128,
    /// Monthly budgets by category (as [`spend_by_category`] names them), minor units.
    pub budgets: BTreeMap<String, i128>,
    /// Shares of a budget, in percent, that each fire once a month.
    pub budget_levels: Vec<u32>,
}

impl Default for InsightRules {
    fn default() -> Self {
        Self {
            warning_days: 14,
            idle_months_of_burn: 3,
            idle_minimum_minor: 100_000, // 1,000.00
            budgets: BTreeMap::new(),
            budget_levels: vec![80, 100],
        }
    }
}

/// What the profile looks like now.
#[derive(Clone, Debug, PartialEq)]
pub struct Signals {
    /// Today.
    pub today: NaiveDate,
    /// Currency.
    pub currency: Asset,
    /// The balance forecast, when one could be made.
    pub forecast: Option<BalanceForecast>,
    /// Cash in current and savings accounts at the end of `today` (posted movements).
    pub cash_minor: i128,
    /// Average monthly spending.
    pub monthly_burn_minor: i128,
    /// Payments of recurring earned-income streams (pay, benefits, pensions; not interest or
    /// dividends): (transaction id, payer, date, amount, confidence).
    pub income_payments: Vec<(String, String, NaiveDate, i128, f64)>,
    /// This month's spend by category.
    pub month_spend: BTreeMap<String, i128>,
}

impl Signals {
    /// The signals of `profile` on `today`, with `forecast` (made by the caller, who chooses
    /// its method and horizon). `None` when the profile was never created.
    pub fn from_profile(
        profile: &Profile,
        today: NaiveDate,
        forecast: Option<BalanceForecast>,
    ) -> Option<Self> {
        let currency = profile.info.as_ref()?.base_currency;
        let report = cashflow(profile, today);
        // Cash as it stood at the end of `today` (a past day too), read as the forecast reads it.
        let cash_minor =
            CashHistory::from_profile(profile, today).map_or(0, |h| h.closing_balance_minor);
        // Pay, not returns: interest and dividends recur too, but are no salary.
        let returns = [display("income.interest"), display("income.dividends")];
        let mut income_payments = Vec::new();
        let earned = report
            .streams
            .iter()
            .filter(|s| s.flow == FlowType::Income && !returns.contains(&s.category));
        for stream in earned {
            for t in profile.transactions().filter(|t| t.is_effective_posted()) {
                let tx = &t.transaction;
                let payer = tx.enrichment.as_ref().and_then(|e| e.merchant_name.as_deref());
                if tx.amount_minor > 0
                    && tx.date <= today
                    && payer.unwrap_or(&tx.description) == stream.merchant
                {
                    income_payments.push((
                        tx.transaction_id.clone(),
                        stream.merchant.clone(),
                        tx.date,
                        tx.amount_minor,
                        stream.confidence_score,
                    ));
                }
            }
        }
        let month = today.with_day(1).unwrap_or(today);
        Some(Self {
            today,
            currency,
            forecast,
            cash_minor,
            monthly_burn_minor: report.monthly_burn_minor,
            income_payments,
            month_spend: spend_by_category(profile, month),
        })
    }
}

/// How far back a first evaluation announces income (older payments are history, not news).
const FIRST_LOOK_DAYS: i64 = 7;

/// What has been said for one profile.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct InsightState {
    overdraft: bool,
    /// Days in a row the forecast has been clear since the last warning.
    clear_days: u32,
    last_clear_check: Option<NaiveDate>,
    idle: bool,
    /// The latest day income was announced up to.
    income_seen_until: Option<NaiveDate>,
    announced: BTreeSet<String>,
    /// Highest budget level fired per category this month.
    budget_month: Option<NaiveDate>,
    budgets: BTreeMap<String, u32>,
}

impl InsightState {
    /// The events `signals` call for that have not been said yet.
    pub fn evaluate(&mut self, rules: &InsightRules, signals: &Signals) -> Vec<BrainEvent> {
        let mut out = Vec::new();
        self.overdraft(rules, signals, &mut out);
        self.idle_cash(rules, signals, &mut out);
        self.income(signals, &mut out);
        self.budgets(rules, signals, &mut out);
        out
    }

    fn overdraft(&mut self, rules: &InsightRules, s: &Signals, out: &mut Vec<BrainEvent>) {
        let warning = s.forecast.as_ref().and_then(|f| {
            let days = f.days_until_zero_p10.filter(|d| *d <= rules.warning_days)?;
            let window = usize::try_from(rules.warning_days).unwrap_or(usize::MAX);
            let lowest = f.days.iter().take(window).map(|d| d.p10_minor).min()?;
            Some((days, lowest))
        });
        match warning {
            Some((days_until_zero, amount_minor)) => {
                self.clear_days = 0;
                if !self.overdraft {
                    self.overdraft = true;
                    out.push(BrainEvent::OverdraftWarning {
                        days_until_zero,
                        amount_minor,
                        currency: s.currency,
                    });
                }
            }
            None if self.overdraft => {
                let elapsed = self.last_clear_check.map_or(1, |d| (s.today - d).num_days().max(0));
                self.clear_days =
                    self.clear_days.saturating_add(u32::try_from(elapsed).unwrap_or(u32::MAX));
                if self.clear_days >= rules.warning_days.saturating_add(7) {
                    self.overdraft = false;
                    self.clear_days = 0;
                }
            }
            None => {}
        }
        self.last_clear_check = Some(s.today);
    }

    fn idle_cash(&mut self, rules: &InsightRules, s: &Signals, out: &mut Vec<BrainEvent>) {
        if s.monthly_burn_minor <= 0 {
            return;
        }
        let buffer = s.monthly_burn_minor.saturating_mul(rules.idle_months_of_burn);
        let moveable = s.cash_minor.saturating_sub(buffer);
        if !self.idle && moveable >= rules.idle_minimum_minor {
            self.idle = true;
            out.push(BrainEvent::IdleCash {
                moveable_amount_minor: moveable,
                currency: s.currency,
            });
        } else if self.idle && moveable < rules.idle_minimum_minor / 2 {
            self.idle = false;
        }
    }

    fn income(&mut self, s: &Signals, out: &mut Vec<BrainEvent>) {
        let week = chrono::Duration::days(FIRST_LOOK_DAYS);
        // A payment booked late, dated up to a week before the last look, is still news once;
        // a first look announces the last week only.
        let from = self.income_seen_until.map_or(s.today - week, |last| last - week);
        for (id, merchant, date, amount, confidence) in &s.income_payments {
            if *date > from && *date <= s.today && self.announced.insert(id.clone()) {
                out.push(BrainEvent::SalaryReceived {
                    transaction_id: id.clone(),
                    merchant: merchant.clone(),
                    amount_minor: *amount,
                    confidence: *confidence,
                });
            }
        }
        // The next look starts a week before today: older ids can no longer repeat.
        let next_from = s.today - week;
        let recent: BTreeSet<&String> =
            s.income_payments.iter().filter(|p| p.2 > next_from).map(|p| &p.0).collect();
        self.announced.retain(|id| recent.contains(id));
        self.income_seen_until = Some(s.today);
    }

    fn budgets(&mut self, rules: &InsightRules, s: &Signals, out: &mut Vec<BrainEvent>) {
        let month = s.today.with_day(1).unwrap_or(s.today);
        if self.budget_month != Some(month) {
            self.budget_month = Some(month);
            self.budgets.clear();
        }
        for (category, budget) in rules.budgets.iter().filter(|(_, b)| **b > 0) {
            let spent = s.month_spend.get(category).copied().unwrap_or(0);
            let share = spent.saturating_mul(100) / budget;
            let fired = self.budgets.get(category).copied().unwrap_or(0);
            let crossed = rules
                .budget_levels
                .iter()
                .copied()
                .filter(|level| i128::from(*level) <= share && *level > fired)
                .max();
            if let Some(percent) = crossed {
                self.budgets.insert(category.clone(), percent);
                out.push(BrainEvent::BudgetThreshold {
                    category: category.clone(),
                    month,
                    spent_minor: spent,
                    budget_minor: *budget,
                    percent,
                });
            }
        }
    }
}

#[cfg(test)]
#[allow(clippy::inconsistent_digit_grouping, reason = "pence written as pounds_pence")]
mod tests {
    use super::*;
    use crate::forecast::{ForecastDay, Method};

    fn day(d: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(2024, 5, d).unwrap_or_default()
    }

    fn forecast(today: NaiveDate, zero_in: Option<u32>) -> BalanceForecast {
        let days = (1..=30)
            .map(|k| {
                let p10 = match zero_in {
                    Some(z) if k >= z => -5_000,
                    _ => 10_000,
                };
                ForecastDay {
                    date: today + chrono::Duration::days(i64::from(k)),
                    p10_minor: p10,
                    p50_minor: 20_000,
                    p90_minor: 30_000,
                }
            })
            .collect();
        BalanceForecast {
            as_of: today,
            currency: Asset::GBP,
            method: Method::RecurringResidual,
            opening_balance_minor: 20_000,
            days,
            days_until_zero: None,
            days_until_zero_p10: zero_in,
            caveats: Vec::new(),
        }
    }

    fn signals(today: NaiveDate, zero_in: Option<u32>, cash: i128) -> Signals {
        Signals {
            today,
            currency: Asset::GBP,
            forecast: Some(forecast(today, zero_in)),
            cash_minor: cash,
            monthly_burn_minor: 1_500_00,
            income_payments: vec![("t1".into(), "Acme".into(), day(3), 2_500_00, 0.98)],
            month_spend: BTreeMap::from([("Eating Out".to_owned(), 170_00)]),
        }
    }

    #[test]
    fn each_event_fires_once_per_transition() {
        let rules = InsightRules {
            budgets: BTreeMap::from([("Eating Out".to_owned(), 200_00)]),
            ..InsightRules::default()
        };
        let mut state = InsightState::default();
        let first = state.evaluate(&rules, &signals(day(4), Some(10), 6_000_00));
        let types: Vec<&str> = first.iter().map(BrainEvent::event_type).collect();
        assert_eq!(
            types,
            [
                "brain.risk.overdraft_warning",
                "brain.nudge.idle_cash",
                "brain.insight.salary_received",
                "brain.risk.budget_threshold"
            ],
            "{first:?}"
        );
        assert!(matches!(first[1], BrainEvent::IdleCash { moveable_amount_minor: 1_500_00, .. }));
        // The same picture the next day: nothing new.
        assert!(state.evaluate(&rules, &signals(day(5), Some(9), 6_000_00)).is_empty());
        // Spending crosses 100 %: that level fires once.
        let mut more = signals(day(6), Some(8), 6_000_00);
        more.month_spend.insert("Eating Out".into(), 210_00);
        let over = state.evaluate(&rules, &more);
        assert!(
            matches!(&over[..], [BrainEvent::BudgetThreshold { percent: 100, .. }]),
            "{over:?}"
        );
        assert!(state.evaluate(&rules, &more).is_empty());
    }

    #[test]
    fn warnings_rearm_only_after_the_condition_has_cleared_for_a_while() {
        let rules = InsightRules::default();
        let mut state = InsightState::default();
        assert_eq!(state.evaluate(&rules, &signals(day(4), Some(5), 0)).len(), 2);
        // Clear for a week, then at risk again: still the same episode.
        assert!(state.evaluate(&rules, &signals(day(11), None, 0)).is_empty());
        assert!(state.evaluate(&rules, &signals(day(12), Some(5), 0)).is_empty());
        // Clear for three weeks: a new episode warns again.
        let later = day(13) + chrono::Duration::days(21);
        assert!(state.evaluate(&rules, &signals(day(13), None, 0)).is_empty());
        assert!(state.evaluate(&rules, &signals(later, None, 0)).is_empty());
        let again = state.evaluate(&rules, &signals(later, Some(3), 0));
        assert!(matches!(&again[..], [BrainEvent::OverdraftWarning { days_until_zero: 3, .. }]));
        let json = serde_json::to_string(&again[0]).unwrap_or_default();
        assert!(json.contains("\"type\":\"brain.risk.overdraft_warning\""), "{json}");
    }
}
