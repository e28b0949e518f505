//! Everyday spending, shocks and the injected anomalies of a synthetic person.

use chrono::{Datelike, Duration, NaiveDate, NaiveTime};

use super::names::{ABROAD, BURST, COFFEE, EATING, NIGHT, SHOPS, SUPERMARKETS, TAIL};
use super::{AnomalyKind, Person, at, is_weekend};
use crate::num::{f, minor};

impl Person<'_> {
    /// A card payment, with the chance of an injected anomaly next to it.
    fn card(
        &mut self,
        date: NaiveDate,
        time: NaiveTime,
        merchant: &str,
        amount: i128,
        usual: bool,
    ) {
        let description = format!("CARD PAYMENT TO {merchant}");
        let far = usual && self.rng.chance(self.config.anomaly_rate / 4.0);
        let amount = if far { minor(f(amount) * self.rng.range(5.0, 15.0)) } else { amount };
        self.push(date, time, description.clone(), -amount.max(1));
        if let (true, Some(line)) = (far, self.lines.last_mut()) {
            line.anomaly = Some(AnomalyKind::FarOffAmount);
        }
        if !self.rng.chance(self.config.anomaly_rate) {
            return;
        }
        let minute =
            |m: u32| time.overflowing_add_signed(Duration::minutes(i64::from(m))).0.min(at(23, 59));
        match self.rng.below(3) {
            0 => {
                self.push(date, minute(2), description, -amount.max(1));
                self.mark(1, AnomalyKind::Duplicate, None);
            }
            1 => {
                let (country, name) = *self.rng.pick(NIGHT).unwrap_or(&("US", "ONLINE"));
                let time = at(1 + u32::try_from(self.rng.below(4)).unwrap_or(0), 17);
                let pence = minor(self.rng.range(4_000.0, 60_000.0));
                self.push(date, time, format!("CARD PAYMENT TO {name}"), -pence);
                self.mark(1, AnomalyKind::ForeignAtNight, Some(country));
            }
            _ => {
                let name = *self.rng.pick(BURST).unwrap_or(&"SHOP");
                let n = 4 + self.rng.below(4);
                let start = at(10 + u32::try_from(self.rng.below(10)).unwrap_or(0), 5);
                for k in 0..n {
                    let time = start + Duration::minutes(i64::try_from(k * 4).unwrap_or(0));
                    let pence = minor(self.rng.range(500.0, 6_000.0));
                    self.push(date, time, format!("CARD PAYMENT TO {name}"), -pence);
                }
                self.mark(n, AnomalyKind::Burst, None);
            }
        }
    }

    fn mark(&mut self, last: usize, kind: AnomalyKind, country: Option<&'static str>) {
        let len = self.lines.len();
        for line in &mut self.lines[len.saturating_sub(last)..] {
            line.anomaly = Some(kind);
            if let Some(c) = country {
                line.country = c;
            }
        }
    }

    fn pence(&mut self, mean: f64, spread: f64) -> i128 {
        let x = mean * self.lifestyle * (spread * self.rng.normal()).exp();
        minor(x).max(50)
    }

    pub(super) fn everyday(&mut self) {
        let shops: Vec<String> = (0..2 + self.rng.below(2))
            .map(|_| {
                let name = *self.rng.pick(SUPERMARKETS).unwrap_or(&"TESCO STORES");
                format!("{name} {}", 1_000 + self.rng.below(8_999))
            })
            .collect();
        let coffee = self.rng.range(0.0, 0.6);
        let commuter = self.rng.chance(0.6);
        let grocery_mean = self.rng.range(2_500.0, 6_500.0);
        let holiday = if self.rng.chance(0.6) {
            let (c, name) = *self.rng.pick(ABROAD).unwrap_or(&("ES", "RESTAURANTE"));
            Some((c, name, 7 + u32::try_from(self.rng.below(40)).unwrap_or(0)))
        } else {
            None
        };
        let mut day = self.config.start;
        let end = self.end();
        while day <= end {
            let december = if day.month() == 12 { 1.8 } else { 1.0 };
            let weekday = !is_weekend(day);
            // A week away, starting `offset` days after the 1st of July.
            let away = holiday.is_some_and(|(_, _, offset)| {
                NaiveDate::from_ymd_opt(day.year(), 7, 1).is_some_and(|july| {
                    let from = july + Duration::days(i64::from(offset));
                    day >= from && day < from + Duration::days(7)
                })
            });
            if away {
                if let Some((country, name, _)) = holiday {
                    let amount = self.pence(3_500.0, 0.5);
                    self.push(day, at(20, 30), format!("CARD PAYMENT TO {name}"), -amount);
                    if let Some(line) = self.lines.last_mut() {
                        line.country = country;
                    }
                }
            } else {
                if self.rng.chance(0.3) {
                    let shop = shops[self.rng.below(shops.len())].clone();
                    let amount = self.pence(grocery_mean, 0.45);
                    let hour = 9 + u32::try_from(self.rng.below(12)).unwrap_or(0);
                    self.card(day, at(hour, 12), &shop, amount, true);
                }
                if weekday && self.rng.chance(coffee) {
                    let shop = *self.rng.pick(COFFEE).unwrap_or(&"COSTA COFFEE");
                    let amount = self.pence(340.0, 0.2);
                    let hour = 7 + u32::try_from(self.rng.below(3)).unwrap_or(0);
                    self.card(day, at(hour, 40), shop, amount, true);
                }
                if self.rng.chance(0.14 * december) {
                    let shop = *self.rng.pick(EATING).unwrap_or(&"NANDOS");
                    let amount = self.pence(2_200.0, 0.5);
                    let hour = if self.rng.chance(0.4) { 12 } else { 19 };
                    self.card(day, at(hour, 25), shop, amount, true);
                }
                if weekday && commuter && self.rng.chance(0.8) {
                    let amount = self.pence(560.0, 0.15);
                    self.card(day, at(8, 5), "TFL TRAVEL CH", amount, true);
                }
                if self.rng.chance(0.1 * december) {
                    let shop = *self.rng.pick(SHOPS).unwrap_or(&"ARGOS");
                    let amount = self.pence(3_500.0, 0.8);
                    self.card(day, at(14, 45), shop, amount, false);
                }
                if self.rng.chance(0.02) {
                    let shop = *self.rng.pick(TAIL).unwrap_or(&"SHOP");
                    let amount = self.pence(2_500.0, 0.7);
                    self.card(day, at(11, 30), shop, amount, false);
                }
                if self.rng.chance(0.03) {
                    let amount = i128::try_from(2 + self.rng.below(8)).unwrap_or(2) * 1_000;
                    self.push(day, at(17, 0), "CASH WITHDRAWAL LINK ATM".to_owned(), -amount);
                }
            }
            if holiday.is_some_and(|(_, _, start)| day.month() == 5 && day.day() == start % 28 + 1)
            {
                let amount = self.pence(45_000.0, 0.3);
                self.push(day, at(21, 0), "CARD PAYMENT TO EASYJET AIRLINE".to_owned(), -amount);
            }
            day = day.succ_opt().unwrap_or(end + Duration::days(1));
        }
    }

    pub(super) fn shocks(&mut self) {
        let shocks = [("KWIK FIT", 20_000.0, 90_000.0), ("VETS4PETS", 15_000.0, 120_000.0)];
        for _ in 0..self.rng.below(3) {
            let (name, low, high) = shocks[self.rng.below(shocks.len())];
            let offset = self.rng.below(usize::try_from(self.config.months * 30).unwrap_or(1));
            let day = self.config.start + Duration::days(i64::try_from(offset).unwrap_or(0));
            let amount = minor(self.rng.range(low, high));
            self.push(day, at(12, 0), format!("CARD PAYMENT TO {name}"), -amount);
        }
    }
}
