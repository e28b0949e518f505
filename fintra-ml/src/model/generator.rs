//! A generator of labelled statement lines from the catalogue, for training the model (never
//! for measuring it: accuracy is reported on the hand-written lines of `tests/data`).
//!
//! Merchants are drawn with a Zipf law (a few are everywhere, most are rare); each line takes
//! one of the merchant's spellings, a bank's template for its country (UK, US, EU), store
//! numbers, towns, dates and card masks, and is then mangled as real exports are: cut to 22 or
//! 25 characters, lower or mixed case, a typo.

use crate::catalogue::{Catalogue, Merchant};

/// One generated line.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LabelledLine {
    /// The statement line.
    pub text: String,
    /// Signed amount (money out is negative).
    pub amount_minor: i64,
    /// The merchant's detailed category: the label.
    pub category: String,
    /// The merchant.
    pub merchant_id: String,
}

struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    fn below(&mut self, n: usize) -> usize {
        usize::try_from(self.next() % u64::try_from(n.max(1)).unwrap_or(1)).unwrap_or(0)
    }
    fn chance(&mut self, percent: u64) -> bool {
        self.next() % 100 < percent
    }
    fn pick<'a>(&mut self, items: &[&'a str]) -> &'a str {
        items.get(self.below(items.len())).copied().unwrap_or("")
    }
}

const UK_TOWNS: &[&str] =
    &["LONDON", "MANCHESTER", "LEEDS", "BRISTOL", "GLASGOW", "CARDIFF", "YORK"];
const US_TOWNS: &[&str] = &["NEW YORK NY", "AUSTIN TX", "CHICAGO IL", "SEATTLE WA", "DENVER CO"];
const EU_TOWNS: &[&str] = &["BERLIN", "PARIS", "AMSTERDAM", "MADRID", "MILANO", "WIEN", "LYON"];
const MONTHS: &[&str] = &["JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT"];

/// The line for `spelling` in a template of `country`'s banks.
fn template(rng: &mut Rng, spelling: &str, country: &str) -> String {
    let store = 100 + rng.below(9_000);
    let day = 1 + rng.below(28);
    let month = rng.pick(MONTHS);
    match country {
        "US" | "CA" => {
            let town = rng.pick(US_TOWNS);
            match rng.below(6) {
                0 => format!("POS DEBIT {spelling} #{store} {town}"),
                1 => format!("DEBIT CARD PURCHASE XXXXX{store} {spelling} {town}"),
                2 => format!("SQ *{spelling} {town}"),
                3 => format!("TST* {spelling} {store}"),
                4 => format!("{spelling} {store} {town}"),
                _ => format!("PAYPAL *{spelling}"),
            }
        }
        "GB" | "IE" => {
            let town = rng.pick(UK_TOWNS);
            match rng.below(6) {
                0 => format!("CARD PAYMENT TO {spelling} ON {day:02} {month}"),
                1 => format!("{spelling} {town}"),
                2 => format!("{spelling} {store} {town} GB"),
                3 => format!("CONTACTLESS {spelling} {town}"),
                4 => format!("DD {spelling} REF {store}{day}"),
                _ => spelling.to_owned(),
            }
        }
        _ => {
            let town = rng.pick(EU_TOWNS);
            match rng.below(5) {
                0 => format!("KARTENZAHLUNG {spelling} {town}"),
                1 => format!("CB {spelling} {day:02}/{:02} {town}", 1 + rng.below(12)),
                2 => format!("PAGO CON TARJETA EN {spelling} {town}"),
                3 => format!("SUMUP *{spelling} {town}"),
                _ => format!("{spelling} {town}"),
            }
        }
    }
}

/// Mangles a line as exports do: a cut, a case, a typo.
fn mangle(rng: &mut Rng, line: String) -> String {
    let mut line = line;
    if rng.chance(25) {
        let cut = if rng.chance(50) { 22 } else { 25 };
        line = line.chars().take(cut).collect();
    }
    if rng.chance(8) {
        let chars: Vec<char> = line.chars().collect();
        if chars.len() > 6 {
            let at = 2 + rng.below(chars.len() - 4);
            line = chars.iter().enumerate().filter(|(i, _)| *i != at).map(|(_, c)| *c).collect();
        }
    }
    match rng.below(10) {
        0 => line.to_lowercase(),
        1 => line
            .split(' ')
            .map(|w| {
                let mut cs = w.chars();
                cs.next().map_or_else(String::new, |f| f.to_string() + &cs.as_str().to_lowercase())
            })
            .collect::<Vec<_>>()
            .join(" "),
        _ => line,
    }
}

/// A plausible amount for a category, in minor units, negative.
fn amount(rng: &mut Rng, category: &str) -> i64 {
    let (low, high) = match category.split('.').next().unwrap_or("") {
        "eating_out" => (250, 6_000),
        "groceries" => (300, 15_000),
        "transport" => (200, 9_000),
        "travel" => (3_000, 90_000),
        "bills" | "subscriptions" | "housing" | "loans" => (500, 150_000),
        _ => (300, 30_000),
    };
    let span = u64::try_from(high - low).unwrap_or(1);
    -(low + i64::try_from(rng.next() % span).unwrap_or(0))
}

/// `n` labelled lines from `catalogue`, reproducible from `seed`.
pub fn generate(catalogue: &Catalogue, n: usize, seed: u64) -> Vec<LabelledLine> {
    let mut rng = Rng(seed.wrapping_mul(0x9e37_79b9_7f4a_7c15).max(1));
    let mut merchants: Vec<&Merchant> = catalogue.iter().collect();
    // A seeded order decides who is popular: rank r is drawn with weight 1 / (r + 1)^1.07.
    for i in (1..merchants.len()).rev() {
        let j = rng.below(i + 1);
        merchants.swap(i, j);
    }
    let mut cumulative = Vec::with_capacity(merchants.len());
    let mut total = 0.0f64;
    for r in 0..merchants.len() {
        #[allow(clippy::cast_precision_loss, reason = "ranks far below 2^52")]
        let weight = 1.0 / (r as f64 + 1.0).powf(1.07);
        total += weight;
        cumulative.push(total);
    }
    let mut out = Vec::with_capacity(n);
    while out.len() < n && !merchants.is_empty() {
        #[allow(clippy::cast_precision_loss, reason = "a 53-bit fraction")]
        let u = (rng.next() >> 11) as f64 / (1u64 << 53) as f64 * total;
        let r = cumulative.partition_point(|c| *c < u).min(merchants.len() - 1);
        let m = merchants[r];
        let spellings: Vec<&str> =
            std::iter::once(m.name.as_str()).chain(m.aliases.iter().map(String::as_str)).collect();
        let spelling = rng.pick(&spellings).to_uppercase();
        let country = m.countries.get(rng.below(m.countries.len())).map_or("GB", String::as_str);
        let line = template(&mut rng, &spelling, country);
        let line = mangle(&mut rng, line);
        out.push(LabelledLine {
            text: line,
            amount_minor: amount(&mut rng, &m.category),
            category: m.category.clone(),
            merchant_id: m.id.clone(),
        });
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_are_reproducible_labelled_and_zipf_distributed() {
        let catalogue = Catalogue::builtin().unwrap_or_default();
        let a = generate(&catalogue, 2_000, 1);
        assert_eq!(a, generate(&catalogue, 2_000, 1));
        assert_ne!(a, generate(&catalogue, 2_000, 2));
        assert!(
            a.iter()
                .all(|l| catalogue.get(&l.merchant_id).is_some_and(|m| m.category == l.category))
        );
        let mut counts = std::collections::HashMap::new();
        for l in &a {
            *counts.entry(&l.merchant_id).or_insert(0usize) += 1;
        }
        let top = counts.values().max().copied().unwrap_or(0);
        assert!(top >= 40, "the most popular merchant appears often: {top}");
        assert!(counts.len() >= 500, "and many merchants appear: {}", counts.len());
        assert!(a.iter().any(|l| l.text.chars().count() <= 25 && l.text.len() < 30));
    }
}
