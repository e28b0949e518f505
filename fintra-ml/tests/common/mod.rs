//! What the rule tests share: one built-in cascade, and a line categorised by it.

use std::sync::OnceLock;

use fintra_ml::{Cascade, Catalogue, Categorisation, Transaction};

/// Asserts each `(line, amount_minor, country, category)` case, naming the line that fails.
#[allow(dead_code, reason = "not every test file that shares this module uses it")]
pub(crate) fn assert_categories(cases: &[(&str, i64, &str, &str)]) {
    for &(line, amount, country, want) in cases {
        assert_eq!(categorise(line, amount, country).category, want, "{line}");
    }
}

/// `description` categorised by the cascade over the built-in catalogue, as money in (positive
/// `amount_minor`) or out, in `country`.
///
/// # Panics
/// When the built-in catalogue does not load.
pub(crate) fn categorise(description: &str, amount_minor: i64, country: &str) -> Categorisation {
    static CASCADE: OnceLock<Cascade> = OnceLock::new();
    let cascade = CASCADE
        .get_or_init(|| Cascade::new(&Catalogue::builtin().expect("the built-in catalogue")));
    cascade.categorise(&Transaction {
        description,
        amount_minor,
        mcc: None,
        country: Some(country),
        profile: None,
    })
}
