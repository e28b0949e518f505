//! The Merchant Truth Engine: a counterparty resolved to a catalogue merchant, with a
//! confidence, or "unknown" below [`RESOLVE_THRESHOLD`].
//!
//! Candidates come from a [`VectorIndex`] of the embeddings of every merchant's name and
//! statement spellings; each candidate is then scored on words: how many of the spelling's
//! words the counterparty has (exactly, as a truncation at its end, or with one typo in a long
//! word), where they start, and the cosine of the embeddings.

use std::collections::HashMap;
use std::sync::Arc;

use crate::catalogue::{Catalogue, Merchant};
use crate::descriptor::{Descriptor, IntermediaryRole, Kind, fold, is_noise};
use crate::index::{Filter, InMemoryIndex, Point, SparseVector, VectorIndex, embed, embed_words};

/// Below this score a counterparty is "unknown".
pub const RESOLVE_THRESHOLD: f32 = 0.62;

/// A word-stage match this good skips the n-gram stage.
const SURE: f32 = 0.8;

/// How many candidates the index returns per query.
const CANDIDATES: usize = 12;

/// A resolved merchant.
#[derive(Clone, Debug, PartialEq)]
pub struct Resolution {
    /// The merchant.
    pub merchant: Arc<Merchant>,
    /// The score, in `[RESOLVE_THRESHOLD, 1]`.
    pub confidence: f32,
    /// The spelling that matched.
    pub matched: String,
}

struct Spelling {
    merchant: Arc<Merchant>,
    text: String,
    words: Vec<String>,
    vector: SparseVector,
}

/// Resolves counterparties against a catalogue.
pub struct Resolver {
    index: Box<dyn VectorIndex>,
    spellings: HashMap<String, Spelling>,
}

impl std::fmt::Debug for Resolver {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Resolver").field("spellings", &self.spellings.len()).finish_non_exhaustive()
    }
}

/// The words of a spelling, cleaned as descriptors are (noise, codes and legal forms out), so
/// that both sides compare alike. A spelling that is nothing but noise keeps its words.
fn words(text: &str) -> Vec<String> {
    let all: Vec<String> = fold(text)
        .split(|c: char| !c.is_ascii_alphanumeric() && c != '\'')
        .map(|w| w.replace('\'', ""))
        .filter(|w| !w.is_empty())
        .collect();
    let clean: Vec<String> = all.iter().filter(|w| !is_noise(w)).cloned().collect();
    if clean.iter().any(|w| w.len() >= 2) { clean } else { all }
}

/// Words a spelling may have that say nothing about which merchant it is.
const WEAK: &[&str] = &[
    "THE",
    "AND",
    "&",
    "OF",
    "LTD",
    "LIMITED",
    "INC",
    "LLC",
    "PLC",
    "GMBH",
    "SA",
    "AG",
    "BV",
    "CO",
    "COM",
    "UK",
    "US",
    "STORE",
    "STORES",
    "SHOP",
    "MARKET",
    "MKT",
    // Corporate words any business may carry ("ZQXW HOLDINGS" is not "888 HOLDINGS").
    "HOLDING",
    "HOLDINGS",
    "GROUP",
    "INTERNATIONAL",
    "INTL",
    "SERVICES",
    "SOLUTIONS",
    "TRADING",
    "ENTERPRISES",
    "CORP",
    "CORPORATION",
    "COMPANY",
    "PARTNERS",
    "GLOBAL",
    "EUROPE",
];

fn one_edit(a: &str, b: &str) -> bool {
    let (a, b) = (a.as_bytes(), b.as_bytes());
    if a.len().abs_diff(b.len()) > 1 {
        return false;
    }
    let (mut i, mut j, mut edits) = (0, 0, 0);
    while i < a.len() && j < b.len() {
        if a[i] == b[j] {
            i += 1;
            j += 1;
            continue;
        }
        edits += 1;
        if edits > 1 {
            return false;
        }
        match a.len().cmp(&b.len()) {
            std::cmp::Ordering::Greater => i += 1,
            std::cmp::Ordering::Less => j += 1,
            std::cmp::Ordering::Equal => {
                i += 1;
                j += 1;
            }
        }
    }
    edits + (a.len() - i) + (b.len() - j) <= 1
}

/// Does counterparty word `q` (at position `qi` of `n`) stand for spelling word `c`? `cut` says
/// the description is long enough to have been cut short by the bank (18 bytes or more).
fn word_matches(q: &str, c: &str, qi: usize, n: usize, cut: bool) -> bool {
    q == c
        // A description cut short: its last word is at least half of the real one.
        || (cut && qi + 1 == n && q.len() >= 4 && 2 * q.len() >= c.len() && c.starts_with(q))
        // A typo in a long word.
        || (q.len() >= 6 && c.len() >= 6 && one_edit(q, c))
}

impl Resolver {
    /// A resolver over `catalogue` with the in-process index.
    pub fn new(catalogue: &Catalogue) -> Self {
        Self::with_index(catalogue, Box::new(InMemoryIndex::default()))
    }

    /// A resolver over `catalogue` with another index backend (it is filled here).
    pub fn with_index(catalogue: &Catalogue, mut index: Box<dyn VectorIndex>) -> Self {
        let mut spellings = HashMap::new();
        for merchant in catalogue.iter() {
            let merchant = Arc::new(merchant.clone());
            let mut texts = vec![merchant.name.clone()];
            texts.extend(merchant.aliases.iter().cloned());
            if let Some(site) = &merchant.website {
                texts.push(site.clone());
            }
            let mut seen = Vec::new();
            for text in texts {
                let w = words(&text);
                if w.is_empty() || seen.contains(&w) {
                    continue;
                }
                let id = format!("{}#{}", merchant.id, seen.len());
                let vector = embed(&w.join(" "));
                index.upsert(Point { id: id.clone(), tenant: None, vector: vector.clone() });
                seen.push(w.clone());
                let spelling = Spelling { merchant: Arc::clone(&merchant), text, words: w, vector };
                spellings.insert(id, spelling);
            }
        }
        Self { index, spellings }
    }

    /// How many spellings are indexed.
    pub fn spellings(&self) -> usize {
        self.spellings.len()
    }

    /// The best merchant for `descriptor`, if one scores at least [`RESOLVE_THRESHOLD`].
    /// `country` (ISO alpha-2), when known, breaks ties towards merchants trading there.
    pub fn resolve(&self, descriptor: &Descriptor, country: Option<&str>) -> Option<Resolution> {
        // Cut short by the bank: a long line whose counterparty runs to its very end.
        let cut = descriptor.raw.trim().len() >= 18
            && descriptor.words.last().is_some_and(|w| descriptor.counterparty.last() == Some(w));
        // A transfer to a business names the business first ("FPO BRITISH GAS"); a merchant
        // further on is a reference ("FPO J SMITH REF NETFLIX SHARE").
        let first_only = matches!(descriptor.kind, Kind::Transfer | Kind::StandingOrder);
        let from_counterparty = self.best(&descriptor.counterparty, country, cut, first_only);
        match &descriptor.intermediary {
            // A platform is the merchant itself.
            Some(i) if i.role == IntermediaryRole::Platform => {
                self.best(&words(&i.name), country, false, false).or(from_counterparty)
            }
            // A processor's counterparty; failing that, the processor is not a merchant.
            _ => from_counterparty,
        }
    }

    fn best(
        &self,
        query: &[String],
        country: Option<&str>,
        cut: bool,
        first_only: bool,
    ) -> Option<Resolution> {
        if query.is_empty() {
            return None;
        }
        let text = query.join(" ");
        let vector = embed(&text);
        // First the spellings that share a whole word (short posting lists). Unless one of them
        // is a sure match, the full n-gram query too (typos, truncation, glued words), and the
        // better of the two.
        let by_words = self.pick(query, &vector, &embed_words(&text), country, cut, first_only);
        if by_words.as_ref().is_some_and(|r| r.confidence >= SURE) {
            return by_words;
        }
        let by_grams = self.pick(query, &vector, &vector, country, cut, first_only);
        match (by_words, by_grams) {
            (Some(w), Some(g)) => Some(if g.confidence > w.confidence { g } else { w }),
            (w, g) => w.or(g),
        }
    }

    /// The best of the candidates `probe` retrieves, scored against the full `vector`.
    fn pick(
        &self,
        query: &[String],
        vector: &SparseVector,
        probe: &SparseVector,
        country: Option<&str>,
        cut: bool,
        first_only: bool,
    ) -> Option<Resolution> {
        let hits = self.index.search(probe, CANDIDATES, &Filter::default());
        let mut best: Option<(f32, usize, &Spelling)> = None;
        for hit in hits {
            let Some(spelling) = self.spellings.get(&hit.id) else { continue };
            let cosine = spelling.vector.dot(vector);
            let score = score(query, spelling, cosine, country, cut, first_only);
            let len = spelling.words.len();
            let better = match &best {
                None => true,
                Some((s, l, _)) => score > *s + 1e-6 || ((score - *s).abs() <= 1e-6 && len > *l),
            };
            if better {
                best = Some((score, len, spelling));
            }
        }
        let (score, _, spelling) = best?;
        (score >= RESOLVE_THRESHOLD).then(|| Resolution {
            merchant: Arc::clone(&spelling.merchant),
            confidence: score.min(1.0),
            matched: spelling.text.clone(),
        })
    }
}

/// The word-level score of `spelling` for counterparty words `query`.
fn score(
    query: &[String],
    spelling: &Spelling,
    cosine: f32,
    country: Option<&str>,
    cut: bool,
    first_only: bool,
) -> f32 {
    let n = query.len();
    // The words that identify the merchant: not generic, not single letters.
    let strong: Vec<&String> =
        spelling.words.iter().filter(|w| !WEAK.contains(&w.as_str()) && w.len() >= 2).collect();
    // With no identifying word ("E.ON" is "E" and "ON"), only the glued form can match.
    let wanted: Vec<&String> = strong;
    let mut first: Option<usize> = None;
    let mut matched = 0usize;
    let mut used = vec![false; n];
    for c in &wanted {
        if let Some(qi) = (0..n).find(|&qi| !used[qi] && word_matches(&query[qi], c, qi, n, cut)) {
            used[qi] = true;
            matched += 1;
            first = Some(first.map_or(qi, |f: usize| f.min(qi)));
        }
    }
    // The spelling glued together ("WHOLEFOODS" for "WHOLE FOODS", "7 ELEVEN" for "7ELEVEN").
    let glued: String = spelling.words.concat();
    let need = wanted.len().max(1);
    if matched < need
        && glued.len() >= 3
        && let Some(qi) = (0..n).find(|&qi| {
            query[qi] == glued || (qi + 1 < n && format!("{}{}", query[qi], query[qi + 1]) == glued)
        })
    {
        matched = need;
        first = Some(qi);
    }
    let Some(first) = first else { return 0.0 };
    let cover = ratio(matched, need);
    if cover < 0.99 && wanted.len() <= 2 {
        // A one- or two-word name must be there whole.
        return 0.0;
    }
    if first_only && first != 0 {
        return 0.0;
    }
    // Brands come first in a counterparty; a one-word brand further on is usually an ordinary
    // word inside another business's name ("LITTLE ACORNS NURSERY").
    let position = match (first, wanted.len()) {
        (0, _) => 1.0,
        (_, 1) => 0.7,
        (1, _) => 0.92,
        (2, _) => 0.8,
        _ => 0.6,
    };
    // A very short spelling ("EE", "O2", "BP") only counts as the whole counterparty's start.
    let short = wanted.iter().map(|w| w.len()).sum::<usize>() <= 3;
    if short && first != 0 {
        return 0.0;
    }
    let local = match country {
        Some(c) if !spelling.merchant.countries.is_empty() => {
            if spelling.merchant.countries.iter().any(|m| m == c) { 1.0 } else { 0.9 }
        }
        _ => 1.0,
    };
    (0.7 * cover + 0.3 * cosine.clamp(0.0, 1.0)) * position * local
}

fn ratio(a: usize, b: usize) -> f32 {
    if b == 0 {
        return 0.0;
    }
    // Counts are small (words of a name); the conversion is exact.
    f32::from(u16::try_from(a).unwrap_or(u16::MAX))
        / f32::from(u16::try_from(b).unwrap_or(u16::MAX))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::descriptor::parse;

    fn resolver() -> Resolver {
        Resolver::new(&Catalogue::builtin().unwrap_or_default())
    }

    #[test]
    fn typical_descriptors_resolve_and_look_alikes_do_not() {
        let r = resolver();
        let id = |raw: &str| r.resolve(&parse(raw), None).map(|m| m.merchant.id.clone());
        assert_eq!(id("CARD PAYMENT TO TESCO STORES 3297 ON 12 MAR").as_deref(), Some("tesco"));
        assert_eq!(id("SHELLFISH SHACK"), None);
        assert_eq!(id("FPO J SMITH REF RENT"), None);
        // A corporate word alone names no merchant ("888 HOLDINGS" once matched this).
        assert_eq!(id("ZQXW HOLDINGS 8812"), None);
        assert_eq!(id("QVORNA TRADING GROUP LTD"), None);
    }
}
