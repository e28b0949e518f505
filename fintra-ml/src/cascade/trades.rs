//! The words that say what trade a business is in ("BAKERY", "OSTERIA"), and the compounds
//! Germanic names make of them ("STADTAPOTHEKE"), for counterparties no catalogue knows.

use std::collections::HashMap;
use std::sync::OnceLock;

/// The curated trade words (`data/trades.tsv`) and the lexicon (`data/trade_lexicon.tsv`).
const TRADES_TSV: &str = include_str!("../../data/trades.tsv");
const LEXICON_TSV: &str = include_str!("../../data/trade_lexicon.tsv");

/// The trade words in file order (the curated ones first), and the same by word.
struct Trades {
    list: Vec<(&'static str, &'static str)>,
    curated: usize,
    by_word: HashMap<&'static str, &'static str>,
}

/// The (word, category) rows of a trade file.
fn rows(tsv: &'static str) -> impl Iterator<Item = (&'static str, &'static str)> {
    tsv.lines()
        .filter(|l| !l.starts_with('#') && !l.starts_with("word\t") && !l.trim().is_empty())
        .filter_map(|l| {
            let mut fields = l.split('\t');
            Some((fields.next()?, fields.next()?))
        })
}

fn trades() -> &'static Trades {
    static TRADES: OnceLock<Trades> = OnceLock::new();
    TRADES.get_or_init(|| {
        let mut list: Vec<(&'static str, &'static str)> = rows(TRADES_TSV).collect();
        let curated = list.len();
        list.extend(rows(LEXICON_TSV));
        // The first line of a word wins, as in a search of the list.
        let mut by_word = HashMap::with_capacity(list.len());
        for (word, category) in &list {
            by_word.entry(*word).or_insert(*category);
        }
        Trades { list, curated, by_word }
    })
}

/// The curated trade words alone: a word the bank cut short is completed only from these, whose
/// words do not end common ones (the lexicon would read "STEAK HOUSE" as HOUSEWARES).
pub(super) fn curated_keywords() -> &'static [(&'static str, &'static str)] {
    let t = trades();
    &t.list[..t.curated]
}

/// Trade words of a whole field that a word after them narrows: a clinic or a medical centre
/// may be a vet's or a dentist's ("CLINICA VETERINARIA", "CENTRO MEDICO DENTAL"), a motor firm
/// an insurer ("KFZ VERSICHERUNG"), an inn a restaurant ("THE OLD INN RESTAURANT").
const GENERIC_TRADES: &[&str] = &[
    "MEDICO",
    "MEDICAL",
    "CLINIC",
    "CLINICS",
    "CLINICA",
    "KLINIK",
    "AMBULATORIO",
    "PRAXIS",
    "KFZ",
    "INN",
];

/// The first trade word of `words` (a word whose trade depends on the country read for
/// `country`); a generic one gives way to a trade word after it ("CLINICA VETERINARIA",
/// "CENTRO MEDICO DENTAL").
pub(super) fn first_trade(
    words: &[String],
    country: Option<&str>,
) -> Option<(&'static str, &'static str)> {
    let mut trades =
        words.iter().filter_map(|w| business_word(w).or_else(|| regional_word(w, country)));
    match trades.next() {
        Some(first) if GENERIC_TRADES.contains(&first.0) => {
            trades.find(|(w, _)| !GENERIC_TRADES.contains(w)).or(Some(first))
        }
        first => first,
    }
}

/// Trade words whose trade depends on the country: (word, countries, the category there). An
/// inn is a pub in Britain and Ireland and a place to stay in North America and Oceania, and
/// names no trade elsewhere ("FIT INN TRAINING" in Germany); a dépanneur is a corner shop in
/// Quebec and a breakdown service in France.
const REGIONAL: &[(&str, &[&str], &str)] = &[
    ("INN", &["GB", "IE"], "eating_out.bar"),
    ("INN", &["US", "CA", "AU", "NZ"], "travel.lodging"),
    ("DEPANNEUR", &["CA"], "groceries.convenience"),
    ("DEPANNEUR", &["FR", "BE", "CH"], "transport.vehicle_maintenance"),
];

/// The trade of a word whose trade depends on the country (see [`REGIONAL`]), in `country`.
fn regional_word(word: &str, country: Option<&str>) -> Option<(&'static str, &'static str)> {
    let country = country?;
    REGIONAL
        .iter()
        .find(|(w, countries, _)| *w == word && countries.contains(&country))
        .map(|(w, _, category)| (*w, *category))
}

/// The trade a business word names ("BAKERY" is a specialty grocer), if it is one.
pub(super) fn business_word(word: &str) -> Option<(&'static str, &'static str)> {
    trades().by_word.get_key_value(word).map(|(k, c)| (*k, *c))
}

/// Business words that Dutch, German and Nordic names join to the word before them
/// ("EETCAFE", "STADTAPOTHEKE", "HOFBAECKEREI"). Only these: most business words also end
/// unrelated words ("HAMBURGER SPARKASSE", "HORSESHOES", "ALCHEMIST", "OCCIDENTAL").
const COMPOUND_ENDINGS: &[&str] = &[
    "CAFE",
    "KAFFEE",
    "APOTHEKE",
    "APOTEK",
    "BAECKEREI",
    "BACKEREI",
    "BAGERI",
    "METZGEREI",
    "KONDITOREI",
    "RESTAURANT",
    "PIZZERIA",
    "HOTEL",
    "KINO",
    "OPTIK",
    "FRISEUR",
    "FRISOER",
    "FRISOR",
    "TANDARTS",
    "BUCHHANDLUNG",
    "GASTHAUS",
    "GASTHOF",
    "BRAUEREI",
    "PRAXIS",
    "PARKING",
];

/// The trade of a compound that ends in one of [`COMPOUND_ENDINGS`] after a head of three
/// letters or more ("EETCAFE"), the longest ending first.
pub(super) fn compound_business_word(word: &str) -> Option<(&'static str, &'static str)> {
    if !word.bytes().all(|b| b.is_ascii_alphabetic()) {
        return None;
    }
    COMPOUND_ENDINGS
        .iter()
        .filter(|k| word.len() >= k.len() + 3 && word.ends_with(*k))
        .max_by_key(|k| k.len())
        .and_then(|k| business_word(k))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::taxonomy::Taxonomy;

    #[test]
    fn the_shipped_trade_words_are_folded_known_and_unique() {
        let taxonomy = Taxonomy::builtin();
        let mut seen = std::collections::HashSet::new();
        let all = &trades().list;
        assert!(all.len() > 2_000, "{}", all.len());
        for (word, category) in all {
            assert!(word.bytes().all(|b| b.is_ascii_uppercase() || b.is_ascii_digit()), "{word}");
            assert_eq!(crate::descriptor::fold(word), *word);
            assert!(taxonomy.contains(category), "{word}: {category}");
            assert!(seen.insert(*word), "{word} twice");
        }
        let known = |w: &&str| business_word(w).is_some() || REGIONAL.iter().any(|r| r.0 == *w);
        assert!(GENERIC_TRADES.iter().all(known));
        assert!(curated_keywords().len() < all.len());
        for (word, _, category) in REGIONAL {
            assert!(taxonomy.contains(category), "{word}: {category}");
            assert!(business_word(word).is_none(), "{word} is regional and general");
        }
    }

    #[test]
    fn an_inn_is_a_pub_in_britain_a_hotel_in_america_and_nothing_in_germany() {
        assert_eq!(regional_word("INN", Some("GB")), Some(("INN", "eating_out.bar")));
        assert_eq!(regional_word("INN", Some("US")), Some(("INN", "travel.lodging")));
        assert_eq!(regional_word("INN", Some("DE")), None);
        assert_eq!(regional_word("INN", None), None);
        assert_eq!(business_word("OSTERIA"), Some(("OSTERIA", "eating_out.restaurant")));
        assert_eq!(
            compound_business_word("STADTAPOTHEKE").map(|(_, c)| c),
            Some("health.pharmacy")
        );
    }
}
