//! The Brain as Connect's [`Categoriser`]: the cascade's answer in the twin's terms.
//!
//! Categories are displayed `Primary > Detailed` ([`taxonomy::display`]); the lineage source is
//! `BRAIN:<layer>` (`BRAIN:merchant_truth`), with the cascade's version, confidence and the
//! resolved merchant id. When the cascade is not sure and the provider sent its own category
//! (Plaid's `personal_finance_category`), that category is mapped onto the taxonomy and used,
//! with source `BRAIN:provider_category`.

use std::sync::Arc;

use fintra_twin::connect::{CategoriseRequest, Categoriser, clean_merchant};
use fintra_twin::fos::{Confidence, Enrichment, Lineage, ProviderCategory};

use crate::cascade::{Cascade, Categorisation, Layer, Transaction};
use crate::catalogue::{Catalogue, CatalogueError};
use crate::taxonomy::{self, UNCATEGORISED};

/// The lineage source prefix of the Brain's fields.
pub const BRAIN_SOURCE: &str = "BRAIN";

/// Confidence given to a provider's own category when the cascade had nothing.
const PROVIDER_CONFIDENCE: f64 = 0.5;

/// The lineage version of a category mapped from Plaid's `personal_finance_category`.
pub const PLAID_MAPPING_VERSION: &str = "plaid-pfc-v1";

/// The cascade behind Connect's [`Categoriser`] trait.
#[derive(Clone, Debug)]
pub struct Brain {
    cascade: Arc<Cascade>,
}

impl Brain {
    /// The Brain over the shipped catalogue.
    ///
    /// # Errors
    /// A shipped catalogue row that does not parse (a build defect, reported with its line).
    pub fn builtin() -> Result<Self, CatalogueError> {
        Ok(Self::new(Arc::new(Cascade::new(&Catalogue::builtin()?))))
    }

    /// The Brain over `cascade` (shared with a refinery, say).
    pub fn new(cascade: Arc<Cascade>) -> Self {
        Self { cascade }
    }

    /// The cascade.
    pub fn cascade(&self) -> &Arc<Cascade> {
        &self.cascade
    }

    /// The cascade's answer for a request, before it is put in the twin's terms.
    pub fn decide(&self, r: &CategoriseRequest<'_>) -> Categorisation {
        let amount_minor = saturating_i64(r.amount_minor);
        self.cascade.categorise(&Transaction {
            description: r.description,
            amount_minor,
            mcc: None,
            country: None,
            profile: r.profile,
        })
    }
}

impl Categoriser for Brain {
    fn categorise(&self, r: &CategoriseRequest<'_>) -> Enrichment {
        let decided = self.decide(r);
        let provider = r.provider_category.and_then(provider_category);
        let unknown = decided.lineage.layer == Layer::Unknown;
        let (category, confidence, layer, version) = match provider {
            Some(category) if unknown => (
                category.to_owned(),
                PROVIDER_CONFIDENCE,
                "provider_category",
                PLAID_MAPPING_VERSION.to_owned(),
            ),
            // Money in that nothing recognised is income of an unknown kind, as Connect files
            // it without the Brain: the twin's engines count it as income.
            _ if unknown && r.amount_minor > 0 => (
                "income.other".to_owned(),
                f64::from(decided.confidence),
                layer_name(decided.lineage.layer),
                decided.lineage.version.clone(),
            ),
            _ => (
                decided.category.clone(),
                f64::from(decided.confidence),
                layer_name(decided.lineage.layer),
                decided.lineage.version.clone(),
            ),
        };
        let merchant = decided
            .merchant
            .clone()
            .or_else(|| r.provider_merchant.map(|m| m.trim().to_owned()).filter(|m| !m.is_empty()))
            .or_else(|| {
                Some(clean_merchant(&crate::descriptor::narrowed(r.description)))
                    .filter(|m| !m.is_empty())
            });
        let mut lineage = Lineage::new(format!("{BRAIN_SOURCE}:{layer}"), r.now);
        lineage.confidence = Some(Confidence::new(confidence));
        lineage.version = Some(version);
        lineage.merchant_id = decided.lineage.merchant_id;
        Enrichment {
            merchant_name: merchant,
            category: taxonomy::display(&category),
            recurrence: None,
            lineage,
        }
    }
}

/// The twin's `i128` amount as the cascade's `i64`, clamped (an amount beyond `i64` is only
/// ever "very large" to a categoriser).
pub(crate) fn saturating_i64(amount_minor: i128) -> i64 {
    i64::try_from(amount_minor).unwrap_or(if amount_minor < 0 { i64::MIN } else { i64::MAX })
}

/// The lineage name of a layer (`merchant_truth`).
pub fn layer_name(layer: Layer) -> &'static str {
    match layer {
        Layer::UserRule => "user_rule",
        Layer::BankPhrasing => "bank_phrasing",
        Layer::MerchantTruth => "merchant_truth",
        Layer::Keywords => "keywords",
        Layer::Model => "model",
        Layer::Mcc => "mcc",
        Layer::Unknown => "unknown",
    }
}

/// Plaid's personal-finance category on the taxonomy: its detailed value when known, else its
/// primary. `None` for another provider or a value Plaid has not documented.
pub fn provider_category(category: &ProviderCategory) -> Option<&'static str> {
    if !category.provider.eq_ignore_ascii_case("PLAID") {
        return None;
    }
    let detailed = category.detailed.as_deref().and_then(|d| {
        PLAID_DETAILED.iter().find(|(code, _)| d.eq_ignore_ascii_case(code)).map(|(_, id)| *id)
    });
    detailed.or_else(|| {
        PLAID_PRIMARY
            .iter()
            .find(|(code, _)| category.primary.eq_ignore_ascii_case(code))
            .map(|(_, id)| *id)
    })
}

/// Plaid's primary categories (personal_finance_category v1).
const PLAID_PRIMARY: &[(&str, &str)] = &[
    ("INCOME", "income.other"),
    ("TRANSFER_IN", "transfers.other"),
    ("TRANSFER_OUT", "transfers.other"),
    ("LOAN_PAYMENTS", "loans.loan_payment"),
    ("BANK_FEES", "fees.bank"),
    ("ENTERTAINMENT", "entertainment.events"),
    ("FOOD_AND_DRINK", "eating_out.restaurant"),
    ("GENERAL_MERCHANDISE", "shopping.other"),
    ("HOME_IMPROVEMENT", "shopping.home_garden"),
    ("MEDICAL", "health.medical"),
    ("PERSONAL_CARE", "health.personal_care"),
    ("GENERAL_SERVICES", "services.other"),
    ("GOVERNMENT_AND_NON_PROFIT", "government.services"),
    ("TRANSPORTATION", "transport.public"),
    ("TRAVEL", "travel.other"),
    ("RENT_AND_UTILITIES", "bills.other"),
];

/// The detailed Plaid categories whose meaning differs from their primary's.
const PLAID_DETAILED: &[(&str, &str)] = &[
    ("INCOME_WAGES", "income.salary"),
    ("INCOME_DIVIDENDS", "income.dividends"),
    ("INCOME_INTEREST_EARNED", "income.interest"),
    ("INCOME_RETIREMENT_PENSION", "income.pension"),
    ("INCOME_UNEMPLOYMENT", "income.benefits"),
    // A tax refund is income, not money back from a purchase.
    ("INCOME_TAX_REFUND", "income.other"),
    ("TRANSFER_IN_SAVINGS", "transfers.savings"),
    ("TRANSFER_OUT_SAVINGS", "transfers.savings"),
    ("TRANSFER_IN_ACCOUNT_TRANSFER", "transfers.own_account"),
    ("TRANSFER_OUT_ACCOUNT_TRANSFER", "transfers.own_account"),
    ("TRANSFER_IN_CASH_ADVANCES_AND_LOANS", "transfers.other"),
    ("TRANSFER_IN_INVESTMENT_AND_RETIREMENT_FUNDS", "investments.brokerage"),
    ("TRANSFER_OUT_INVESTMENT_AND_RETIREMENT_FUNDS", "investments.brokerage"),
    ("TRANSFER_OUT_WITHDRAWAL", "cash.withdrawal"),
    ("TRANSFER_IN_DEPOSIT", "cash.deposit"),
    ("LOAN_PAYMENTS_CREDIT_CARD_PAYMENT", "loans.credit_card"),
    ("LOAN_PAYMENTS_MORTGAGE_PAYMENT", "housing.mortgage"),
    ("LOAN_PAYMENTS_STUDENT_LOAN_PAYMENT", "loans.student_loan"),
    ("LOAN_PAYMENTS_CAR_PAYMENT", "loans.car_finance"),
    ("BANK_FEES_ATM_FEES", "fees.atm"),
    ("BANK_FEES_FOREIGN_TRANSACTION_FEES", "fees.foreign"),
    ("BANK_FEES_OVERDRAFT_FEES", "fees.overdraft"),
    ("BANK_FEES_INTEREST_CHARGE", "fees.interest"),
    ("ENTERTAINMENT_CASINOS_AND_GAMBLING", "entertainment.gambling"),
    ("ENTERTAINMENT_MUSIC_AND_AUDIO", "subscriptions.music"),
    ("ENTERTAINMENT_TV_AND_MOVIES", "subscriptions.video"),
    ("ENTERTAINMENT_VIDEO_GAMES", "entertainment.gaming"),
    ("ENTERTAINMENT_SPORTING_EVENTS_AMUSEMENT_PARKS_AND_MUSEUMS", "entertainment.attractions"),
    ("FOOD_AND_DRINK_BEER_WINE_AND_LIQUOR", "groceries.alcohol"),
    ("FOOD_AND_DRINK_COFFEE", "eating_out.coffee"),
    ("FOOD_AND_DRINK_FAST_FOOD", "eating_out.fast_food"),
    ("FOOD_AND_DRINK_GROCERIES", "groceries.supermarket"),
    ("FOOD_AND_DRINK_RESTAURANT", "eating_out.restaurant"),
    ("FOOD_AND_DRINK_VENDING_MACHINES", "eating_out.fast_food"),
    ("GENERAL_MERCHANDISE_BOOKSTORES_AND_NEWSSTANDS", "shopping.books"),
    ("GENERAL_MERCHANDISE_CLOTHING_AND_ACCESSORIES", "shopping.clothing"),
    ("GENERAL_MERCHANDISE_CONVENIENCE_STORES", "groceries.convenience"),
    ("GENERAL_MERCHANDISE_DEPARTMENT_STORES", "shopping.department_store"),
    ("GENERAL_MERCHANDISE_DISCOUNT_STORES", "shopping.discount"),
    ("GENERAL_MERCHANDISE_ELECTRONICS", "shopping.electronics"),
    ("GENERAL_MERCHANDISE_GIFTS_AND_NOVELTIES", "shopping.gifts"),
    ("GENERAL_MERCHANDISE_ONLINE_MARKETPLACES", "shopping.marketplace"),
    ("GENERAL_MERCHANDISE_PET_SUPPLIES", "shopping.pets"),
    ("GENERAL_MERCHANDISE_SPORTING_GOODS", "shopping.sports"),
    ("GENERAL_MERCHANDISE_SUPERSTORES", "groceries.supermarket"),
    ("GENERAL_SERVICES_CHILDCARE", "services.childcare"),
    ("GENERAL_SERVICES_EDUCATION", "services.education"),
    ("GENERAL_SERVICES_INSURANCE", "health.insurance"),
    ("GENERAL_SERVICES_POSTAGE_AND_SHIPPING", "services.postage"),
    ("GENERAL_SERVICES_AUTOMOTIVE", "transport.vehicle_maintenance"),
    ("GOVERNMENT_AND_NON_PROFIT_DONATIONS", "government.donations"),
    ("GOVERNMENT_AND_NON_PROFIT_TAX_PAYMENT", "government.tax"),
    ("MEDICAL_DENTAL_CARE", "health.dental"),
    ("MEDICAL_EYE_CARE", "health.optical"),
    ("MEDICAL_PHARMACIES_AND_SUPPLEMENTS", "health.pharmacy"),
    ("PERSONAL_CARE_GYMS_AND_FITNESS_CENTERS", "health.fitness"),
    ("RENT_AND_UTILITIES_RENT", "housing.rent"),
    ("RENT_AND_UTILITIES_GAS_AND_ELECTRICITY", "bills.energy"),
    ("RENT_AND_UTILITIES_WATER", "bills.water"),
    ("RENT_AND_UTILITIES_INTERNET_AND_CABLE", "bills.internet"),
    ("RENT_AND_UTILITIES_TELEPHONE", "bills.mobile"),
    ("TRANSPORTATION_GAS", "transport.fuel"),
    ("TRANSPORTATION_PARKING", "transport.parking"),
    ("TRANSPORTATION_PUBLIC_TRANSIT", "transport.public"),
    ("TRANSPORTATION_TAXIS_AND_RIDE_SHARES", "transport.taxi"),
    ("TRANSPORTATION_TOLLS", "transport.tolls"),
    ("TRANSPORTATION_BIKES_AND_SCOOTERS", "transport.micromobility"),
    ("TRAVEL_FLIGHTS", "travel.flights"),
    ("TRAVEL_LODGING", "travel.lodging"),
    ("TRAVEL_RENTAL_CARS", "travel.car_rental"),
];

/// The cascade's uncategorised answer, displayed.
pub fn uncategorised() -> String {
    taxonomy::display(UNCATEGORISED)
}

#[cfg(test)]
#[allow(clippy::unwrap_used, reason = "tests")]
mod tests {
    use super::*;
    use crate::taxonomy::Taxonomy;

    fn request(description: &str, amount_minor: i128) -> CategoriseRequest<'_> {
        CategoriseRequest {
            profile: None,
            description,
            amount_minor,
            provider_merchant: None,
            provider_category: None,
            now: chrono::DateTime::UNIX_EPOCH,
        }
    }

    #[test]
    fn hostile_descriptions_are_uncategorised_with_low_confidence() {
        let brain = Brain::builtin().unwrap();
        let long = "Ä".repeat(5_000) + &"x".repeat(2_000);
        let lossy = String::from_utf8_lossy(b"\xff\xfe\x00CARD\xc3").into_owned();
        for raw in ["", "   ", "😀🎉💸", long.as_str(), lossy.as_str(), "\u{0}\u{202e}"] {
            for amount in [i128::MIN, -1, 0, 1, i128::MAX] {
                let e = brain.categorise(&request(raw, amount));
                let low = e.lineage.confidence.is_some_and(|c| c.value() < 0.5);
                assert!(low, "{raw:?} {amount}: {e:?}");
                assert!(e.category.contains(" > "), "{raw:?}: {}", e.category);
            }
        }
    }

    #[test]
    fn a_known_merchant_comes_with_lineage_and_a_plaid_category_fills_a_gap() {
        let brain = Brain::builtin().unwrap();
        let tesco = brain.categorise(&request("CARD PAYMENT TO TESCO STORES 3297", -2_310));
        assert_eq!(tesco.category, "Groceries > Supermarket");
        assert_eq!(tesco.lineage.source, "BRAIN:merchant_truth");
        assert_eq!(tesco.lineage.merchant_id.as_deref(), Some("tesco"));
        let plaid = ProviderCategory {
            provider: "PLAID".into(),
            primary: "FOOD_AND_DRINK".into(),
            detailed: Some("FOOD_AND_DRINK_COFFEE".into()),
            confidence: Some("HIGH".into()),
        };
        let mut r = request("ZQXW 8812", -350);
        r.provider_category = Some(&plaid);
        let filled = brain.categorise(&r);
        assert_eq!(filled.category, "Eating Out > Coffee");
        assert_eq!(filled.lineage.source, "BRAIN:provider_category");
        assert_eq!(filled.lineage.version.as_deref(), Some(PLAID_MAPPING_VERSION));
        let income = brain.categorise(&request("ZQXW 8812", 5_000));
        assert_eq!(income.category, "Income > Other");
    }

    #[test]
    fn every_mapped_plaid_category_is_in_the_taxonomy() {
        let t = Taxonomy::builtin();
        for (code, id) in PLAID_PRIMARY.iter().chain(PLAID_DETAILED) {
            assert!(t.contains(id), "{code} → {id}");
        }
    }
}
