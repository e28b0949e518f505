//! What the rule tests share: one built-in cascade, and a line categorised by it.

use std::sync::OnceLock;

use fintra_ml::{Cascade, Catalogue, Categorisation, Transaction};

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
