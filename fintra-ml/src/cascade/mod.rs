//! The categorisation cascade (spec §4.7): user rules, then the bank's phrasing for movements
//! that are not purchases (cash, fees, interest, salary, transfers), then merchant truth, then
//! descriptor keywords, then the MCC fallback. Every answer carries its lineage.

use std::collections::HashMap;
use std::sync::{Arc, RwLock};

use crate::catalogue::Catalogue;
use crate::descriptor::{Descriptor, Kind, fold, parse};
mod bank;
mod phrases;
mod product;
mod purpose;
mod trades;
mod words;

use bank::{bank, not_a_purchase};
use product::product;
use purpose::{by_phrase, by_purpose, dividend};

use trades::{business_word, compound_business_word, curated_keywords, first_trade};
use words::{HONORIFICS, PENSION_WORDS, PERSON_TO_PERSON, STRONG_PURPOSES, TRANSFER_PURPOSES};

use crate::mcc;
use crate::model::linear::argmax;
use crate::model::{Classifier, featurise};
use crate::resolve::{Resolution, Resolver};
use crate::taxonomy::{UNCATEGORISED, primary};

/// One transaction to categorise.
#[derive(Clone, Copy, Debug)]
pub struct Transaction<'a> {
    /// The raw bank description.
    pub description: &'a str,
    /// Signed amount in minor units: negative is money out.
    pub amount_minor: i64,
    /// The card network's merchant category code, when the provider sends one.
    pub mcc: Option<u16>,
    /// ISO 3166 alpha-2 country of the account or the transaction, when known.
    pub country: Option<&'a str>,
    /// The profile the transaction belongs to (user rules are per profile).
    pub profile: Option<&'a str>,
}

/// Which layer of the cascade decided.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Layer {
    /// A rule the user made by correcting an earlier transaction.
    UserRule,
    /// The bank's phrasing: cash, fees, interest, salary, transfers.
    BankPhrasing,
    /// A catalogue merchant.
    MerchantTruth,
    /// A generic business word in the counterparty ("CAFE", "PHARMACY").
    Keywords,
    /// The trained model ([`crate::model`]), when one is loaded.
    Model,
    /// The card network's merchant category code.
    Mcc,
    /// Nothing was sure.
    Unknown,
}

/// Where a category came from.
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Lineage {
    /// The deciding layer.
    pub layer: Layer,
    /// The merchant, when one was resolved (whichever layer decided).
    pub merchant_id: Option<String>,
    /// The catalogue and rule-set version ([`CASCADE_VERSION`]).
    pub version: String,
    /// What matched: the spelling, phrase, keyword or code.
    pub evidence: String,
}

/// The version recorded in every lineage.
pub const CASCADE_VERSION: &str = "cascade-1";

/// The cascade's answer.
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Categorisation {
    /// Detailed category id.
    pub category: String,
    /// Confidence in `[0, 1]`.
    pub confidence: f32,
    /// The merchant's display name, when one was resolved.
    pub merchant: Option<String>,
    /// The kind of movement the phrasing says.
    pub kind: Kind,
    /// Where the answer came from.
    pub lineage: Lineage,
}

/// The user rules of every profile: a correction becomes a rule for that profile at once.
#[derive(Debug, Default)]
pub struct UserRules {
    rules: RwLock<HashMap<(String, String), String>>,
}

impl UserRules {
    /// The rule key of a transaction: its merchant id when one resolves, else its counterparty.
    fn key(descriptor: &Descriptor, merchant: Option<&Resolution>) -> String {
        match merchant {
            Some(m) => format!("merchant:{}", m.merchant.id),
            None => format!("counterparty:{}", descriptor.counterparty_text()),
        }
    }
}

/// The least probability at which the model's answer is taken; below it the cascade goes on
/// to the MCC and then to "uncategorised".
pub const MODEL_THRESHOLD: f32 = 0.6;

/// The cascade: taxonomy, catalogue, resolver, user rules and, when loaded, the model.
#[derive(Debug)]
pub struct Cascade {
    resolver: Resolver,
    rules: Arc<UserRules>,
    model: RwLock<Option<Arc<dyn Classifier>>>,
}

impl Cascade {
    /// The cascade over `catalogue`.
    pub fn new(catalogue: &Catalogue) -> Self {
        Self {
            resolver: Resolver::new(catalogue),
            rules: Arc::new(UserRules::default()),
            model: RwLock::new(None),
        }
    }

    /// Loads `model` as the ML layer (or removes it with `None`), at run time: categorisations
    /// that follow carry its version in their lineage.
    pub fn set_model(&self, model: Option<Arc<dyn Classifier>>) {
        if let Ok(mut slot) = self.model.write() {
            *slot = model;
        }
    }

    /// The loaded model, if any.
    pub fn model(&self) -> Option<Arc<dyn Classifier>> {
        self.model.read().ok().and_then(|m| m.clone())
    }

    /// The resolver.
    pub fn resolver(&self) -> &Resolver {
        &self.resolver
    }

    /// Records a user's correction: from now on, transactions of this profile with the same
    /// merchant (or, with none, the same counterparty) get `category`.
    pub fn learn(&self, profile: &str, transaction: &Transaction<'_>, category: &str) {
        let descriptor = parse(transaction.description);
        let merchant = self.resolver.resolve(&descriptor, transaction.country);
        let key = UserRules::key(&descriptor, merchant.as_ref());
        if let Ok(mut rules) = self.rules.rules.write() {
            rules.insert((profile.to_owned(), key), category.to_owned());
        }
    }

    /// Forgets every rule of an erased profile.
    pub fn forget_profile(&self, profile: &str) {
        if let Ok(mut rules) = self.rules.rules.write() {
            rules.retain(|(p, _), _| p != profile);
        }
    }

    /// Categorises one transaction. Never fails: what nothing recognises is
    /// [`UNCATEGORISED`] with a low confidence.
    pub fn categorise(&self, t: &Transaction<'_>) -> Categorisation {
        let d = parse(t.description);
        let person_to_person = matches!(d.kind, Kind::Transfer | Kind::StandingOrder)
            && (d.words.iter().any(|w| PERSON_TO_PERSON.contains(&w.as_str()))
                || d.has_phrase("E TRANSFER")
                || d.has_phrase("MB WAY")
                || d.has_phrase("SENDEN AN"));
        // A transfer to "MR D PRICE" is to a person, whatever brand the name recalls.
        let to_titled_person = matches!(d.kind, Kind::Transfer | Kind::StandingOrder)
            && d.counterparty.len() > 1
            && HONORIFICS.contains(&d.counterparty[0].as_str());
        let merchant = self.resolver.resolve(&d, t.country);
        let merchant = self.past_the_issuer(&d, t.country, merchant).filter(|m| {
            !person_to_person && !to_titled_person && !another_business(t, &d, m) && !misread(&d, m)
        });
        let (category, confidence, layer, evidence) = self
            .user_rule(t, &d, merchant.as_ref())
            .or_else(|| not_a_purchase(t, &d, merchant.as_ref()))
            .or_else(|| by_phrase(&d, merchant.as_ref()))
            .or_else(|| merchant_truth(t, &d, merchant.as_ref()))
            .or_else(|| by_purpose(t, &d))
            .or_else(|| by_keyword(t, &d))
            .or_else(|| by_shape(t, &d, merchant.as_ref()))
            .or_else(|| self.by_model(t, &d))
            .or_else(|| by_mcc(t))
            .unwrap_or((UNCATEGORISED.to_owned(), 0.1, Layer::Unknown, String::new()));
        // Cash, interest, fees and salary have no merchant: the bank or employer named in the
        // line is not someone the person bought from. Nor has a move to savings or a rent
        // payment whose reference matched a merchant ("Transfer to Holiday pot").
        // A pension keeps the body that pays it (a public body, as the tax office is).
        let own = matches!(category.as_str(), "transfers.own_account" | "transfers.savings");
        let merchant = merchant.filter(|_| {
            !(layer == Layer::BankPhrasing
                && evidence != "pension"
                && (matches!(d.kind, Kind::Cash | Kind::Interest | Kind::Fee | Kind::Salary)
                    || STRONG_PURPOSES.contains(&evidence.as_str())
                    || own))
        });
        Categorisation {
            category,
            confidence,
            merchant: merchant.as_ref().map(|m| m.merchant.name.clone()),
            kind: d.kind,
            lineage: Lineage {
                layer,
                merchant_id: merchant.as_ref().map(|m| m.merchant.id.clone()),
                version: match (layer, self.model()) {
                    (Layer::Model, Some(model)) => model.version().to_owned(),
                    _ => CASCADE_VERSION.to_owned(),
                },
                evidence,
            },
        }
    }

    /// A purchase with a card the line names by its bank ("Einkauf ZKB Visa Debit Card Nr. xxxx
    /// 7745, Tibits Zuerich"): the bank issued the card, the shop after it sold. Resolves the
    /// counterparty past the bank's name; `None` when no merchant stands there.
    fn past_the_issuer(
        &self,
        d: &Descriptor,
        country: Option<&str>,
        merchant: Option<Resolution>,
    ) -> Option<Resolution> {
        const CARD_WORDS: &[&str] = &[
            "VISA",
            "MASTERCARD",
            "MAESTRO",
            "VPAY",
            "DEBIT",
            "CARD",
            "KARTE",
            "DEBITKARTE",
            "DEBETKAART",
            "BETAALPAS",
        ];
        let m = merchant?;
        if d.kind != Kind::CardPurchase || !bank(&m.merchant) {
            return Some(m);
        }
        let name: Vec<String> = fold(&m.matched).split_whitespace().map(str::to_owned).collect();
        let n = name.len();
        let issuer = n > 0
            && d.words
                .windows(n + 1)
                .any(|w| w[..n] == name[..] && CARD_WORDS.contains(&w[n].as_str()));
        if !issuer || d.counterparty.len() <= n || d.counterparty[..n] != name[..] {
            return Some(m);
        }
        let rest = Descriptor { counterparty: d.counterparty[n..].to_vec(), ..d.clone() };
        self.resolver.resolve(&rest, country)
    }

    /// The model's answer for money out with a counterparty, when it is sure enough.
    fn by_model(&self, t: &Transaction<'_>, d: &Descriptor) -> Option<Decision> {
        if t.amount_minor >= 0 || d.counterparty.is_empty() {
            return None;
        }
        let model = self.model()?;
        let features = featurise(d, t.amount_minor, model.dim());
        // A runtime failure is a model that has nothing to say: the cascade goes on.
        let p = model.predict(&features).ok()?;
        let (best, prob) = argmax(&p)?;
        let category = model.classes().get(best)?;
        (prob >= MODEL_THRESHOLD)
            .then(|| (category.clone(), prob, Layer::Model, model.version().to_owned()))
    }

    fn user_rule(
        &self,
        t: &Transaction<'_>,
        d: &Descriptor,
        merchant: Option<&Resolution>,
    ) -> Option<Decision> {
        let profile = t.profile?;
        let key = UserRules::key(d, merchant);
        let rules = self.rules.rules.read().ok()?;
        let category = rules.get(&(profile.to_owned(), key.clone()))?;
        Some((category.clone(), 0.99, Layer::UserRule, key))
    }
}

/// A layer's answer: category, confidence, layer, evidence.
type Decision = (String, f32, Layer, String);

fn decision(category: &str, confidence: f32, layer: Layer, evidence: &str) -> Option<Decision> {
    Some((category.to_owned(), confidence, layer, evidence.to_owned()))
}

/// The merchant's category; money in from a shop is a refund, from the state a benefit.
fn merchant_truth(
    t: &Transaction<'_>,
    d: &Descriptor,
    merchant: Option<&Resolution>,
) -> Option<Decision> {
    let m = merchant?;
    let money_in = t.amount_minor > 0;
    // Words of the merchant's own name ("Mortgage Advice Bureau") say nothing about the
    // payment; words of a product spelling ("HALIFAX MORTGAGE") do.
    let spelled = fold(&m.merchant.name);
    let in_name = |w: &str| spelled.split(|c: char| !c.is_ascii_alphanumeric()).any(|s| s == w);
    // …nor do words of the spelling that matched ("HERTZ RENT-A-CAR" pays no rent).
    let matched = fold(&m.matched);
    let in_spelling =
        |w: &str| in_name(w) || matched.split(|c: char| !c.is_ascii_alphanumeric()).any(|s| s == w);
    if d.kind != Kind::CardPurchase
        && d.words.iter().any(|w| STRONG_PURPOSES.contains(&w.as_str()) && !in_spelling(w))
    {
        return None;
    }
    let category = m.merchant.category.as_str();
    let transfer_like = matches!(d.kind, Kind::Transfer | Kind::StandingOrder);
    // A dividend is paid by the company whatever it sells.
    if money_in && dividend(d) {
        return decision("income.dividends", 0.85, Layer::BankPhrasing, "dividend");
    }
    if money_in && category.starts_with("government.") {
        let pension = d.words.iter().any(|w| PENSION_WORDS.contains(&w.as_str()));
        let c = if pension { "income.pension" } else { "income.benefits" };
        return decision(c, 0.8 * m.confidence, Layer::MerchantTruth, &m.matched);
    }
    // A town or state body paid for a nursery or a school, or a fine, names it ("Avtalegiro
    // OSLO KOMMUNE BARNEHAGE", "FOD FINANCIEN VERKEERSBOETE"): that, not the body's tax. (A
    // charity's appeal naming a school is a donation.)
    if !money_in
        && matches!(category, "government.tax" | "government.services" | "bills.council_tax")
    {
        let service = d.words.iter().filter(|w| !in_name(w)).find_map(|w| {
            let purpose = TRANSFER_PURPOSES.iter().find(|(k, _)| w == k).map(|(k, c)| (*k, *c));
            [business_word(w), purpose].into_iter().flatten().find(|(_, c)| {
                matches!(*c, "services.childcare" | "services.education" | "government.fines")
            })
        });
        if let Some((word, c)) = service {
            return decision(c, 0.85 * m.confidence, Layer::MerchantTruth, word);
        }
    }
    // Money paid to the body that pays pensions or benefits is a contribution (ZUS, a
    // social insurance fund).
    if !money_in && matches!(category, "income.pension" | "income.benefits") {
        return decision("government.tax", 0.8 * m.confidence, Layer::MerchantTruth, &m.matched);
    }
    // Money in from a payer (a bank, a broker, a lender) keeps the merchant's category; from a
    // shop it is a refund.
    let payer =
        ["income.", "transfers.", "investments.", "loans."].iter().any(|p| category.starts_with(p));
    if money_in && !payer {
        if transfer_like {
            return None;
        }
        return decision("income.refund", 0.75 * m.confidence, Layer::MerchantTruth, &m.matched);
    }
    if let Some(product) = product(category, d, &in_name) {
        return decision(product, 0.9 * m.confidence, Layer::MerchantTruth, &m.matched);
    }
    decision(category, 0.95 * m.confidence, Layer::MerchantTruth, &m.matched)
}

/// A generic business word in the counterparty.
fn by_keyword(t: &Transaction<'_>, d: &Descriptor) -> Option<Decision> {
    let (word, category) = keyword(d, t.country)?;
    let category = if t.amount_minor > 0 { "income.refund" } else { category };
    decision(category, 0.6, Layer::Keywords, word)
}

/// The counterparty's trade: its first trade word ([`first_trade`]); failing one, the first
/// compound ending in one (`EETCAFE`); failing that, the line's last word when the bank cut it
/// short inside a curated one (`FADE FACTORY BARBE`: at least five letters and half the word).
pub(super) fn keyword(
    d: &Descriptor,
    country: Option<&str>,
) -> Option<(&'static str, &'static str)> {
    let exact = first_trade(&d.counterparty, country);
    let compound = || d.counterparty.iter().find_map(|w| compound_business_word(w));
    exact.or_else(compound).or_else(|| {
        let last = d.counterparty.last()?;
        // Only on a line the bank may have cut (the resolver's test): "SQ *KINGS AUTOS" ends
        // in a whole word, not a cut "AUTOSKOLA".
        let cut = d.cut_short() && last.len() >= 5 && last.bytes().all(|b| b.is_ascii_alphabetic());
        cut.then(|| {
            curated_keywords()
                .iter()
                .filter(|(k, _)| {
                    k.len() > last.len()
                        && k.starts_with(last.as_str())
                        && 2 * last.len() >= k.len()
                })
                .min_by_key(|(k, _)| k.len())
                .map(|(k, c)| (*k, *c))
        })?
    })
}

/// A local business that shares a word with a one-word brand: the brand from another country
/// first in the counterparty and followed by a business word of another trade ("SUNRISE NAILS"
/// in Pittsburgh is no Swiss telecom), or the brand further on with a word of another trade
/// anywhere in the counterparty ("BAECKEREI MUELLER" is no drugstore), or a brand found by part
/// of its spelling beside such a word. A brand further on that is a bank is the account's own
/// (an export's account column).
fn another_business(t: &Transaction<'_>, d: &Descriptor, m: &Resolution) -> bool {
    let foreign = t.country.is_some_and(|country| {
        !m.merchant.countries.is_empty() && !m.merchant.countries.iter().any(|c| c == country)
    });
    let trade = primary(&m.merchant.category);
    if partly_spelled_before_a_trade(d, m, trade) {
        return true;
    }
    let matched = fold(&m.matched);
    let mut spelled = matched.split(|c: char| !c.is_ascii_alphanumeric()).filter(|w| !w.is_empty());
    let (Some(brand), None) = (spelled.next(), spelled.next()) else { return false };
    let Some(at) = d.counterparty.iter().position(|w| w == brand) else { return false };
    if at > 0 {
        // Further on, any word of another trade names the business ("BAECKEREI MUELLER"), and
        // a bank is the account's own ("… AUTOROUTE ASF … BOURSOBANK").
        return bank(&m.merchant) || d.counterparty.iter().any(|w| other_trade(w, trade));
    }
    foreign && d.counterparty[1..].iter().take(3).any(|w| other_trade(w, trade))
}

/// A brand found by part of its spelling, a word of the rest absent from the line, with a word
/// of another trade right after it ("ZEIT FUER BROT" is a bakery, not "ZEIT ONLINE"). Spelled
/// as the line's words are (apostrophes dropped: "NANDOS" is all of "Nando's"), and counting
/// only words of three letters or more that say which merchant it is. Insurance words name a
/// cover that insurers of every kind sell ("SANITAS … SEGUROS").
fn partly_spelled_before_a_trade(d: &Descriptor, m: &Resolution, trade: &str) -> bool {
    const NOT_NAMING: &[&str] =
        &["THE", "AND", "COM", "LTD", "INC", "LLC", "PLC", "GMBH", "LIMITED", "STORE", "STORES"];
    let spelling = spelled_as_the_line(m);
    let naming: Vec<&str> = spelling
        .split(|c: char| !c.is_ascii_alphanumeric())
        .filter(|w| w.len() >= 3 && !NOT_NAMING.contains(w))
        .collect();
    let partial = naming.iter().any(|w| !d.words.iter().any(|x| x == w));
    let Some(at) = d.counterparty.iter().position(|w| naming.contains(&w.as_str())) else {
        return false;
    };
    let cover = |w: &str| business_word(w).is_some_and(|(_, c)| c == "bills.other");
    partial
        && d.counterparty.iter().skip(at + 1).take(2).any(|w| other_trade(w, trade) && !cover(w))
}

/// The matched spelling as the line's words are spelt: folded, apostrophes dropped
/// ("SAINSBURY'S" is SAINSBURYS).
fn spelled_as_the_line(m: &Resolution) -> String {
    fold(&m.matched.replace(['\'', '’'], ""))
}

/// `word` is a business word, or a compound ending in one, of a trade other than `trade`
/// ("NAILS" beside a telecom, "LANDBAECKEREI" beside a drugstore).
fn other_trade(word: &str, trade: &str) -> bool {
    business_word(word)
        .or_else(|| compound_business_word(word))
        .is_some_and(|(_, c)| primary(c) != trade)
}

/// A brand matched only through a misspelling while the line names a business of another trade
/// ("SONNEN APOTHEKE" is a pharmacy, not the insurer Sonnet), or on a transfer, where a
/// person's name is as likely as a brand's ("TRANSFER FROM CAMILLE MARTIN" is no Camile Thai).
fn misread(d: &Descriptor, m: &Resolution) -> bool {
    let matched = spelled_as_the_line(m);
    let mut words = matched.split(|c: char| !c.is_ascii_alphanumeric()).filter(|w| w.len() >= 3);
    let glued: String = matched.chars().filter(char::is_ascii_alphanumeric).collect();
    // Anywhere on the line: a processor's own name is not in the counterparty ("Faster
    // Payment from STRIPE PAYMENTS UK LTD").
    let spelled_out = words.clone().any(|w| d.words.iter().any(|c| c == w))
        // Run together or split apart on the line ("FJORD KRAFT" for Fjordkraft).
        || d.words.concat().contains(&glued)
        // A name of short words only ("BP", "M&S") cannot be told misspelt this way.
        || words.next().is_none();
    let trade = primary(&m.merchant.category);
    let transfer = matches!(d.kind, Kind::Transfer | Kind::StandingOrder);
    // Toast's tills serve restaurants: a brand of another trade matched through a misspelling
    // is the restaurant's own name ("TST* MOLLY'S CROSSING" is no Molloys liquor store).
    let till = d.intermediary.as_ref().is_some_and(|i| i.name == "Toast") && trade != "eating_out";
    !spelled_out && (transfer || till || d.counterparty.iter().any(|w| other_trade(w, trade)))
}

/// What the line's shape alone suggests, when nothing named its purpose: a restaurant
/// processor (Toast serves restaurants almost only), or a neobank export's "To Priya Raman" /
/// "From J Smith" with no business in it. Low confidence.
fn by_shape(
    t: &Transaction<'_>,
    d: &Descriptor,
    merchant: Option<&Resolution>,
) -> Option<Decision> {
    if merchant.is_some() || (d.kind != Kind::Unknown && d.kind != Kind::CardPurchase) {
        return None;
    }
    if t.amount_minor < 0 && d.intermediary.as_ref().is_some_and(|i| i.name == "Toast") {
        return decision("eating_out.restaurant", 0.5, Layer::Keywords, "Toast");
    }
    // A payment app between people names no business the catalogue or a trade word knows
    // ("MobilePay: Mikkel Sørensen - Fødselsdag gave").
    // A card network's merchant category code names a business.
    let app = d.intermediary.as_ref().is_some_and(|i| PERSON_APPS.contains(&i.name.as_str()));
    if app && t.mcc.is_none() && d.kind == Kind::Unknown && d.counterparty.len() >= 2 {
        let c = if t.amount_minor > 0 { "transfers.from_person" } else { "transfers.to_person" };
        return decision(c, 0.5, Layer::BankPhrasing, "payment app");
    }
    let person = d.kind == Kind::Unknown
        && (2..=4).contains(&d.words.len())
        && d.words[1..].iter().all(|w| w.bytes().all(|b| b.is_ascii_alphabetic()));
    match d.words.first().map(String::as_str) {
        Some("TO") if person && t.amount_minor < 0 => {
            decision("transfers.to_person", 0.5, Layer::BankPhrasing, "to a name")
        }
        Some("FROM") if person && t.amount_minor > 0 => {
            decision("transfers.from_person", 0.5, Layer::BankPhrasing, "from a name")
        }
        _ => None,
    }
}

/// Payment apps mostly used between people.
const PERSON_APPS: &[&str] = &["MobilePay", "Vipps", "Lydia"];

/// The card network's merchant category code.
fn by_mcc(t: &Transaction<'_>) -> Option<Decision> {
    let code = t.mcc?;
    decision(mcc::category(code)?, 0.7, Layer::Mcc, &format!("mcc {code:04}"))
}

#[cfg(test)]
mod tests;
