//! Categorisation at the border. Connect asks a [`Categoriser`] for each transaction's merchant
//! and category; fintra-ml's cascade (the Brain) is the one to plug in. Without it,
//! [`BasicCategoriser`] keeps the provider's merchant name (or the cleaned description) and
//! decides the category by direction alone — it knows no merchant and guesses nothing.
//!
//! Categories are written `Primary > Detailed` in the Brain's taxonomy (`docs/brain.md`): the
//! twin's engines read the primary (`Income`, `Transfers`, `Housing`, …).

use chrono::{DateTime, Utc};

use crate::fos::{Enrichment, Lineage, ProviderCategory, UnifiedTransaction};

/// Lineage source of [`BasicCategoriser`]'s fields.
pub const BASIC_LINEAGE: &str = "FINTRA_BASIC";
/// Lineage source of a field the provider set (its own cleaned merchant name).
pub const PROVIDER_LINEAGE: &str = "PROVIDER";
/// What [`BasicCategoriser`] files money out under.
pub const UNCATEGORISED_OUT: &str = "Other > Uncategorised";
/// What [`BasicCategoriser`] files money in under.
pub const UNCATEGORISED_IN: &str = "Income > Other";

/// One transaction to categorise, as Connect knows it.
#[derive(Clone, Copy, Debug)]
pub struct CategoriseRequest<'a> {
    /// The profile it belongs to, when known (user rules are per profile).
    pub profile: Option<&'a str>,
    /// The raw description.
    pub description: &'a str,
    /// Signed minor units: negative is money out.
    pub amount_minor: i128,
    /// A merchant name known before this categoriser runs: the provider's own (Plaid
    /// `merchant_name`), or the name an earlier categorisation kept without resolving a
    /// catalogue merchant. A categoriser that resolves no merchant keeps it.
    pub provider_merchant: Option<&'a str>,
    /// The provider's own category.
    pub provider_category: Option<&'a ProviderCategory>,
    /// When the categorisation runs (stamped on the lineage).
    pub now: DateTime<Utc>,
}

impl<'a> CategoriseRequest<'a> {
    /// The request for a transaction already normalised: its merchant name is passed on unless
    /// it came from a resolved catalogue merchant (`lineage.merchant_id`), so a provider's name
    /// survives any number of categorisations.
    pub fn for_transaction(
        transaction: &'a UnifiedTransaction,
        profile: Option<&'a str>,
        now: DateTime<Utc>,
    ) -> Self {
        let provider_merchant = transaction
            .enrichment
            .as_ref()
            .filter(|e| e.lineage.merchant_id.is_none())
            .and_then(|e| e.merchant_name.as_deref());
        Self {
            profile,
            description: &transaction.description,
            amount_minor: transaction.amount_minor,
            provider_merchant,
            provider_category: transaction.provider_category.as_ref(),
            now,
        }
    }
}

/// Decides a transaction's merchant and category. Implementations never fail: what they do not
/// recognise gets an "uncategorised" answer with a low confidence.
pub trait Categoriser: Send + Sync {
    /// The enrichment for `request`.
    fn categorise(&self, request: &CategoriseRequest<'_>) -> Enrichment;
}

/// The categoriser without a Brain: merchant from the provider or the cleaned description,
/// category [`UNCATEGORISED_OUT`] or [`UNCATEGORISED_IN`] by direction.
#[derive(Clone, Copy, Debug, Default)]
pub struct BasicCategoriser;

impl Categoriser for BasicCategoriser {
    fn categorise(&self, r: &CategoriseRequest<'_>) -> Enrichment {
        let category = if r.amount_minor < 0 { UNCATEGORISED_OUT } else { UNCATEGORISED_IN };
        let (merchant, source) = match r.provider_merchant.filter(|m| !m.trim().is_empty()) {
            Some(m) => (Some(m.trim().to_owned()), PROVIDER_LINEAGE),
            None => {
                let cleaned = clean_merchant(r.description);
                ((!cleaned.is_empty()).then_some(cleaned), BASIC_LINEAGE)
            }
        };
        Enrichment {
            merchant_name: merchant,
            category: category.to_owned(),
            recurrence: None,
            lineage: Lineage::new(source, r.now),
        }
    }
}

/// Connect's normalisers' first pass ([`BasicCategoriser`]); [`categorise_with`] replaces it
/// with a real categoriser's answer.
pub(crate) fn categorise(
    description: &str,
    amount_minor: i128,
    provider_merchant: Option<&str>,
    now: DateTime<Utc>,
) -> Enrichment {
    BasicCategoriser.categorise(&CategoriseRequest {
        profile: None,
        description,
        amount_minor,
        provider_merchant,
        provider_category: None,
        now,
    })
}

/// Categorises every transaction with `categoriser`, for `profile`: a transaction a person has
/// categorised ([`Lineage::is_user`]) keeps its enrichment; any other's is replaced. Returns
/// how many changed.
pub fn categorise_with(
    transactions: &mut [UnifiedTransaction],
    categoriser: &dyn Categoriser,
    profile: Option<&str>,
    now: DateTime<Utc>,
) -> usize {
    let mut changed = 0;
    for t in transactions.iter_mut() {
        if t.enrichment.as_ref().is_some_and(|e| e.lineage.is_user()) {
            continue;
        }
        let enrichment =
            categoriser.categorise(&CategoriseRequest::for_transaction(t, profile, now));
        if t.enrichment.as_ref().is_none_or(|old| !old.same_decision(&enrichment)) {
            changed += 1;
        }
        // The provider's merchant name stays the provider's when the categoriser found none.
        t.enrichment = Some(enrichment);
    }
    changed
}

/// Cleans a raw description into a display name: drops processor prefixes (`SQ *`,
/// `PAYPAL *`), store numbers (`#1123`, all-digit words) and a trailing two-letter region code,
/// and title-cases the rest. An empty or all-noise description gives an empty name.
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
    words
        .iter()
        .map(|w| {
            let mut chars = w.chars();
            match chars.next() {
                Some(first) => first.to_string() + &chars.as_str().to_lowercase(),
                None => String::new(),
            }
        })
        .collect::<Vec<_>>()
        .join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn basic(description: &str, amount_minor: i128, provider: Option<&str>) -> Enrichment {
        categorise(description, amount_minor, provider, DateTime::UNIX_EPOCH)
    }

    #[test]
    fn descriptions_are_cleaned_into_names() {
        assert_eq!(clean_merchant("SQ *BLUE BOTTLE #44 CA"), "Blue Bottle");
        assert_eq!(clean_merchant("STARBUCKS #112"), "Starbucks");
        assert_eq!(clean_merchant("AMZN MKTPL WA"), "Amzn Mktpl");
        assert_eq!(clean_merchant("  1234 5678 "), "");
        assert_eq!(clean_merchant(""), "");
    }

    #[test]
    fn the_basic_categoriser_goes_by_direction_and_guesses_no_merchant_category() {
        // "CURRENT " contains "RENT ": substring rules filed this as rent. No rule runs here.
        let transfer = basic("TRANSFER FROM CURRENT ACCT", -500, None);
        assert_eq!(transfer.category, UNCATEGORISED_OUT);
        assert_eq!(transfer.lineage.source, BASIC_LINEAGE);
        let income = basic("ACME LTD", 500, Some("Acme"));
        assert_eq!(
            (income.category.as_str(), income.lineage.source.as_str()),
            (UNCATEGORISED_IN, PROVIDER_LINEAGE)
        );
        assert_eq!(income.merchant_name.as_deref(), Some("Acme"));
        assert_eq!(basic("", -1, None).merchant_name, None);
    }

    struct Fixed;
    impl Categoriser for Fixed {
        fn categorise(&self, r: &CategoriseRequest<'_>) -> Enrichment {
            Enrichment {
                merchant_name: r.provider_merchant.map(str::to_owned),
                category: "Groceries > Supermarket".to_owned(),
                recurrence: None,
                lineage: Lineage::new("TEST", r.now),
            }
        }
    }

    #[test]
    fn categorise_with_passes_the_provider_merchant_on_and_keeps_a_users_choice() {
        let tx = |id: &str, enrichment: Enrichment| UnifiedTransaction {
            transaction_id: id.to_owned(),
            account_id: "a".to_owned(),
            provider_transaction_id: id.to_owned(),
            pending_transaction_id: None,
            amount_minor: -100,
            currency: fintra_core::Asset::iso("GBP").unwrap(),
            status: crate::fos::TransactionStatus::Posted,
            date: chrono::NaiveDate::MIN,
            description: "TESCO STORES 3297".to_owned(),
            balance_after_minor: None,
            enrichment: Some(enrichment),
            provider_category: None,
            original: None,
        };
        let mut user = basic("TESCO STORES 3297", -100, None);
        user.category = "Shopping > Other".to_owned();
        user.lineage = Lineage::new(crate::fos::USER_SOURCE, DateTime::UNIX_EPOCH);
        let mut txs = vec![tx("p", basic("TESCO STORES 3297", -100, Some("Tesco"))), tx("u", user)];
        assert_eq!(categorise_with(&mut txs, &Fixed, None, DateTime::UNIX_EPOCH), 1);
        let first =
            txs[0].enrichment.as_ref().map(|e| (e.category.as_str(), e.merchant_name.as_deref()));
        assert_eq!(first, Some(("Groceries > Supermarket", Some("Tesco"))));
        assert_eq!(
            txs[1].enrichment.as_ref().map(|e| e.category.as_str()),
            Some("Shopping > Other")
        );
    }
}
