//! Rule-based merchant cleaning and categorisation (lineage `RULES_V1`).
//!
//! A deterministic first stage of the spec's categorisation cascade (§4.7): known merchant
//! patterns map to a clean name and a category; anything else gets a cleaned-up description and
//! a default category by direction. The rules are a table, so they are easy to read and extend.

use chrono::{DateTime, Utc};

use crate::fos::{Enrichment, Lineage};

/// The lineage tag of fields these rules set.
pub const RULES_LINEAGE: &str = "RULES_V1";

/// (patterns any of which the upper-cased description contains, merchant, category).
const RULES: &[(&[&str], Option<&str>, &str)] = &[
    (&["STARBUCKS", "STBKS"], Some("Starbucks"), "Food & Drink > Coffee"),
    (&["PRET A MANGER", "PRET "], Some("Pret A Manger"), "Food & Drink > Coffee"),
    (&["DELIVEROO"], Some("Deliveroo"), "Food & Drink > Takeaway"),
    (&["AMZN MKTPL", "AMAZON", "AMZN"], Some("Amazon"), "Shopping"),
    (&["SHELL"], Some("Shell Oil"), "Transport > Fuel"),
    (&["UBER * TRIP", "UBER TRIP", "UBER *"], Some("Uber"), "Transport > Taxi"),
    (&["TFL TRAVEL", "TFL.GOV", "TRAINLINE"], Some("TfL"), "Transport > Public Transport"),
    (&["TESCO"], Some("Tesco"), "Groceries"),
    (&["SAINSBURY"], Some("Sainsbury's"), "Groceries"),
    (&["LIDL"], Some("Lidl"), "Groceries"),
    (&["NETFLIX"], Some("Netflix"), "Subscriptions > Streaming"),
    (&["SPOTIFY"], Some("Spotify"), "Subscriptions > Streaming"),
    (&["PUREGYM"], Some("PureGym"), "Health > Fitness"),
    (&["SALARY", "PAYROLL"], None, "Income > Salary"),
    (&["DIVIDEND"], None, "Income > Dividends"),
    (&["INTEREST EARNED", "INTEREST PAID TO YOU"], None, "Income > Interest"),
    (&["RENT "], None, "Housing > Rent"),
    (&["COUNCIL TAX"], None, "Utilities > Council Tax"),
    (&["BRITISH GAS", "OCTOPUS ENERGY", "EDF ENERGY"], None, "Utilities > Energy"),
    (&["THAMES WATER"], Some("Thames Water"), "Utilities > Water"),
    (&["VODAFONE", "EE LIMITED"], None, "Utilities > Phone"),
    (&["INSURANCE"], None, "Insurance"),
    (&["LOAN REPAYMENT", "LOAN PAYMENT"], None, "Loans > Repayment"),
    (&["PAYMENT THANK YOU", "CREDIT CARD PAYMENT"], None, "Transfers > Credit Card Payment"),
    (
        &["TRANSFER TO SAVINGS", "TRANSFER FROM CURRENT", "INTERNAL TRANSFER"],
        None,
        "Transfers > Internal",
    ),
    (&["REFUND"], None, "Refunds"),
    (&["OVERDRAFT FEE", "LATE FEE", "ANNUAL FEE", "FOREIGN FEE"], None, "Fees & Interest"),
    (&["INTEREST CHARGE"], None, "Fees & Interest"),
    (&["BET365", "PADDY POWER", "WILLIAM HILL"], None, "Gambling"),
];

/// Cleans a raw description into a merchant name: drops processor prefixes (`SQ *`, `PAYPAL *`),
/// store numbers (`#1123`, trailing digits) and region codes, and title-cases the rest.
pub fn clean_merchant(description: &str) -> String {
    let mut text = description.trim().to_uppercase();
    for prefix in ["SQ *", "SQ*", "PAYPAL *", "PP*", "CRV*", "SP * ", "SP *"] {
        if let Some(rest) = text.strip_prefix(prefix) {
            text = rest.trim().to_owned();
        }
    }
    let words: Vec<&str> = text
        .split_whitespace()
        .take_while(|w| !w.starts_with('#'))
        .filter(|w| !w.chars().all(|c| c.is_ascii_digit() || c == '*'))
        .collect();
    // A trailing two-letter region code ("WA") is noise after the first word.
    let words = match words.split_last() {
        Some((last, rest)) if !rest.is_empty() && last.len() == 2 => rest.to_vec(),
        _ => words,
    };
    let cleaned: Vec<String> = words
        .iter()
        .map(|w| {
            let mut chars = w.chars();
            match chars.next() {
                Some(first) => first.to_string() + &chars.as_str().to_lowercase(),
                None => String::new(),
            }
        })
        .collect();
    if cleaned.is_empty() { description.trim().to_owned() } else { cleaned.join(" ") }
}

/// Merchant and category for a transaction description and signed amount.
/// `provider_merchant` (a provider's own cleaned name) is used when no rule matches.
pub fn categorise(
    description: &str,
    amount_minor: i128,
    provider_merchant: Option<&str>,
    now: DateTime<Utc>,
) -> Enrichment {
    let upper = description.to_uppercase();
    let rule = RULES.iter().find(|(patterns, _, _)| patterns.iter().any(|p| upper.contains(p)));
    let refund = amount_minor > 0 && upper.contains("REFUND");
    let (merchant, category, source) = match rule {
        Some((_, merchant, _)) if refund => (
            merchant.map(str::to_owned).or_else(|| Some(clean_merchant(description))),
            "Refunds".to_owned(),
            RULES_LINEAGE,
        ),
        Some((_, merchant, category)) => (
            merchant.map(str::to_owned).or_else(|| Some(clean_merchant(description))),
            (*category).to_owned(),
            RULES_LINEAGE,
        ),
        None => {
            let category = if amount_minor < 0 { "General > Other" } else { "Income > Other" };
            match provider_merchant.filter(|m| !m.trim().is_empty()) {
                Some(m) => (Some(m.trim().to_owned()), category.to_owned(), "PROVIDER"),
                None => (Some(clean_merchant(description)), category.to_owned(), RULES_LINEAGE),
            }
        }
    };
    Enrichment {
        merchant_name: merchant,
        category,
        recurrence: None,
        lineage: Lineage { source: source.to_owned(), updated_at: now },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn merchant(description: &str) -> Option<String> {
        categorise(description, -100, None, DateTime::UNIX_EPOCH).merchant_name
    }

    #[test]
    fn the_spec_merchant_examples_normalise() {
        for raw in ["STARBUCKS #112", "STBKS COFFEE", "SQ *STARBUCKS #1123"] {
            assert_eq!(merchant(raw).as_deref(), Some("Starbucks"), "{raw}");
        }
        for raw in ["AMZN MKTPL WA", "AMZN MKTPL PAYMENTS WA"] {
            let e = categorise(raw, -100, None, DateTime::UNIX_EPOCH);
            assert_eq!(
                (e.merchant_name.as_deref(), e.category.as_str()),
                (Some("Amazon"), "Shopping")
            );
        }
        let shell = categorise("SHELL 5532", -100, None, DateTime::UNIX_EPOCH);
        assert_eq!(shell.merchant_name.as_deref(), Some("Shell Oil"));
        assert_eq!(shell.category, "Transport > Fuel");
        assert_eq!(shell.category_l1(), "Transport");
        assert_eq!(merchant("UBER * TRIP").as_deref(), Some("Uber"));
    }

    #[test]
    fn a_refund_keeps_its_merchant() {
        let refund = categorise("AMZN MKTPL WA REFUND", 1999, None, DateTime::UNIX_EPOCH);
        assert_eq!(
            (refund.merchant_name.as_deref(), refund.category.as_str()),
            (Some("Amazon"), "Refunds")
        );
    }

    #[test]
    fn unknown_merchants_are_cleaned_and_defaulted_by_direction() {
        assert_eq!(clean_merchant("SQ *BLUE BOTTLE #44 CA"), "Blue Bottle");
        let out = categorise("CORNER SHOP 1234", -500, None, DateTime::UNIX_EPOCH);
        assert_eq!(out.category, "General > Other");
        let income = categorise("ACME LTD", 500, Some("Acme"), DateTime::UNIX_EPOCH);
        assert_eq!(
            (income.category.as_str(), income.lineage.source.as_str()),
            ("Income > Other", "PROVIDER")
        );
    }
}
