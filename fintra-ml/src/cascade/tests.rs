//! The cascade's unit tests.

use super::*;

fn txn(description: &str, amount_minor: i64) -> Transaction<'_> {
    Transaction { description, amount_minor, mcc: None, country: None, profile: Some("p1") }
}

#[test]
fn the_misfires_of_substring_rules_are_gone() {
    let c = Cascade::new(&Catalogue::builtin().unwrap_or_default());
    let own = c.categorise(&txn("TRANSFER FROM CURRENT ACCT", 50_000));
    assert_eq!(own.category, "transfers.own_account");
    let shack = c.categorise(&txn("SHELLFISH SHACK", -4_200));
    assert_eq!(shack.category, "eating_out.restaurant");
    assert_eq!(shack.merchant, None);
}

#[test]
fn a_correction_becomes_a_rule_for_that_profile_only() {
    let c = Cascade::new(&Catalogue::builtin().unwrap_or_default());
    let t = txn("SQ *JOES PLACE BROOKLYN NY", -1_250);
    c.learn("p1", &t, "eating_out.bar");
    assert_eq!(c.categorise(&t).lineage.layer, Layer::UserRule);
    let other = Transaction { profile: Some("p2"), ..t };
    assert_ne!(c.categorise(&other).lineage.layer, Layer::UserRule);
    c.forget_profile("p1");
    assert_ne!(c.categorise(&t).lineage.layer, Layer::UserRule, "erased with the profile");
}

#[test]
fn bad_input_is_uncategorised_with_low_confidence() {
    let c = Cascade::new(&Catalogue::builtin().unwrap_or_default());
    let huge = "Z".repeat(10_000);
    for raw in ["", "🙂🙂", "\u{fffd}\u{fffd}\u{fffd}", huge.as_str()] {
        let r = c.categorise(&txn(raw, -100));
        assert_eq!(r.category, UNCATEGORISED);
        assert!(r.confidence < 0.5);
    }
}

#[test]
fn a_payment_app_is_between_people_unless_a_category_code_names_a_business() {
    let c = Cascade::new(&Catalogue::builtin().unwrap_or_default());
    let friend = c.categorise(&txn("MobilePay: Freja Holm - tak for sidst", 15_000));
    assert_eq!(friend.category, "transfers.from_person");
    let restaurant = Transaction { mcc: Some(5812), ..txn("MobilePay Kodbyens Fiskebar", -42_000) };
    assert_eq!(c.categorise(&restaurant).category, "eating_out.restaurant");
}
