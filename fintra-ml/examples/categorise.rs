//! Categorises the statement lines given on the command line and prints what each layer of
//! the cascade saw:
//!
//! ```text
//! cargo run -p fintra-ml --example categorise -- "CARD PAYMENT TO TESCO STORES 3297" "+25.00|REFUND AMAZON"
//! ```
//!
//! A line may start with an amount and `|` (`-12.50|…`, `+25.00|…`); without one it is money out.
//! The account's country may follow the amount (`-12.50|GB|…`).

#![allow(clippy::print_stdout, reason = "an example prints")]

use fintra_ml::{Cascade, Catalogue, Transaction};

/// `"-12.50"` → -1250; `None` when it is not a decimal amount.
fn minor(amount: &str) -> Option<i64> {
    let negative = amount.starts_with('-');
    let digits = amount.trim_start_matches(['-', '+']);
    let (whole, frac) = digits.split_once('.').unwrap_or((digits, ""));
    let frac = format!("{frac:0<2}");
    let value = whole.parse::<i64>().ok()? * 100 + frac.get(..2)?.parse::<i64>().ok()?;
    Some(if negative { -value } else { value })
}

fn main() -> Result<(), fintra_ml::catalogue::CatalogueError> {
    let catalogue = Catalogue::builtin()?;
    let cascade = Cascade::new(&catalogue);
    println!("{} merchants, {} spellings indexed", catalogue.len(), cascade.resolver().spellings());
    for arg in std::env::args().skip(1) {
        let (amount_minor, description) = match arg.split_once('|') {
            Some((amount, rest)) if minor(amount).is_some() => {
                (minor(amount).unwrap_or(-100), rest)
            }
            _ => (-100, arg.as_str()),
        };
        let (country, description) = match description.split_once('|') {
            Some((code, rest))
                if code.len() == 2 && code.bytes().all(|b| b.is_ascii_uppercase()) =>
            {
                (Some(code), rest)
            }
            _ => (None, description),
        };
        let d = fintra_ml::parse(description);
        let r = cascade.categorise(&Transaction {
            description,
            amount_minor,
            mcc: None,
            country,
            profile: None,
        });
        println!("{description}");
        println!(
            "  kind {:?}, counterparty {:?}, intermediary {:?}",
            d.kind,
            d.counterparty_text(),
            d.intermediary.map(|i| i.name)
        );
        println!(
            "  -> {} (confidence {:.2}), merchant {:?}, decided by {:?} on {:?}",
            r.category, r.confidence, r.merchant, r.lineage.layer, r.lineage.evidence
        );
    }
    Ok(())
}
