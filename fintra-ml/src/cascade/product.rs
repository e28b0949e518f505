//! What a line's words say was bought from a merchant that sells several things.

use crate::descriptor::Descriptor;

/// Words that name a vehicle's cover.
const MOTOR_COVER: &[&str] = &[
    "MOTOR",
    "KFZ",
    "AUTOVERSICHERUNG",
    "MOTORFAHRZEUGVERSICHERUNG",
    "FAHRZEUGVERSICHERUNG",
    "VEHICLE",
    "CAR",
];

/// What a line's words say was bought from a merchant that sells several things: a
/// supermarket's petrol station, an insurer's home, car or health cover, a bank's mortgage,
/// card or loan. `None` when they say nothing more than the merchant's category.
pub(super) fn product(
    category: &str,
    d: &Descriptor,
    in_name: &dyn Fn(&str) -> bool,
) -> Option<&'static str> {
    let any = |list: &[&str]| d.words.iter().any(|w| list.contains(&w.as_str()) && !in_name(w));
    let financial = category.starts_with("loans.")
        || category.starts_with("transfers.")
        || matches!(category, "fees.bank" | "housing.mortgage" | "investments.savings_products");
    // A car lender's "MOTOR" names what it finances ("TOYOTA MOTOR CREDIT"), not a cover.
    let insurer = category.ends_with("insurance")
        || category == "bills.other"
        || financial && !matches!(category, "loans.car_finance" | "investments.savings_products");
    if category.starts_with("groceries.")
        && any(&[
            "PETROL",
            "PFS",
            "FUEL",
            "TANKSTELLE",
            "CARBURANT",
            "CARBURANTS",
            "CARBU",
            "GASOLINERA",
        ])
    {
        return Some("transport.fuel");
    }
    if insurer {
        if any(&[
            "HOME",
            "CONTENTS",
            "BUILDINGS",
            "HAUSRAT",
            "HAUSRATVERSICHERUNG",
            "WOHNGEBAEUDE",
            "HABITATION",
            "HOGAR",
            "WOONHUIS",
            "INBOEDEL",
            "WOONVERZEKERING",
            "HEMFOERSAEKRING",
            "HEMFORSAKRING",
        ]) {
            return Some("housing.home_insurance");
        }
        if any(MOTOR_COVER) {
            return Some("transport.vehicle_insurance");
        }
        if any(&[
            "RIESTER",
            "ALTERSVORSORGE",
            "RENTENVERSICHERUNG",
            "PENSION",
            "PENSIOEN",
            "PENSIOENSPAREN",
        ]) {
            return Some("investments.pension");
        }
        if any(&["LIFE", "LEBENSVERSICHERUNG", "LEVENSVERZEKERING"]) {
            return Some("health.insurance");
        }
        if any(&[
            "HEALTH",
            "DENTAL",
            "KRANKENVERSICHERUNG",
            "ZAHNZUSATZVERSICHERUNG",
            "ZORGVERZEKERING",
            "MUTUELLE",
            "SANTE",
            "SALUD",
        ]) {
            return Some("health.insurance");
        }
    }
    // A department store's food hall ("M&S SIMPLY FOOD", "M&S FOODHALL").
    if category == "shopping.department_store"
        && (any(&["FOODHALL", "FOODHALLS"]) || d.has_phrase("SIMPLY FOOD"))
    {
        return Some("groceries.supermarket");
    }
    if let Some(pass) = pass(category, d, &any) {
        return Some(pass);
    }
    if financial {
        return financed(category, d, &any);
    }
    None
}

/// A pass rather than a single purchase: a delivery or ride platform's membership ("GLOVO
/// PRIME", "UBER ONE"), or a season or monthly pass on a railway that also sells long-distance
/// tickets.
fn pass(category: &str, d: &Descriptor, any: &dyn Fn(&[&str]) -> bool) -> Option<&'static str> {
    // The membership word closes a short counterparty ("UBER EATS PIZZA PLUS" is a meal).
    let membership = d.counterparty.len() <= 3
        && d.counterparty.last().is_some_and(|w| {
            ["PRIME", "PLUS", "DASHPASS", "MEMBERSHIP", "ABONNEMENT", "SUBSCRIPTION"]
                .contains(&w.as_str())
        });
    if matches!(category, "eating_out.delivery" | "transport.taxi")
        && (membership || d.has_phrase("UBER ONE"))
    {
        return Some("subscriptions.memberships");
    }
    (category == "travel.rail_coach"
        && (any(&["MONATSKARTE", "JAHRESKARTE", "ZEITKARTE", "TRAVELCARD"])
            || d.has_phrase("SEASON TICKET")
            || d.has_phrase("OV CHIPKAART")))
    .then_some("transport.public")
}

/// What a bank, lender or broker was paid for: a mortgage, a card, a loan. A mortgage lender's
/// loan is its mortgage ("ROCKET MORTGAGE LOAN PMT").
fn financed(category: &str, d: &Descriptor, any: &dyn Fn(&[&str]) -> bool) -> Option<&'static str> {
    if any(&["MORTGAGE", "MTGE", "MTG", "HYPOTHEK", "HYPOTHEEK", "HIPOTECA", "MUTUO"]) {
        return Some("housing.mortgage");
    }
    if any(&["CREDITCARD", "KREDITKARTE", "BARCLAYCARD"]) || d.has_phrase("CREDIT CARD") {
        return Some("loans.credit_card");
    }
    if category != "housing.mortgage"
        && any(&["LOAN", "DARLEHEN", "RATENKREDIT", "PRESTAMO", "PRESTITO", "LENING"])
    {
        return Some("loans.loan_payment");
    }
    None
}
