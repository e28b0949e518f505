//! The Merchant Truth Engine: a counterparty resolved to a catalogue merchant, with a
//! confidence, or "unknown" below [`RESOLVE_THRESHOLD`].
//!
//! Candidates come from a [`VectorIndex`] of the embeddings of every merchant's name and
//! statement spellings; each candidate is then scored on words: how many of the spelling's
//! words the counterparty has (exactly, as a truncation at its end, or with one typo in a long
//! word), where they start, and the cosine of the embeddings.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;

use crate::catalogue::{Catalogue, Merchant};
use crate::descriptor::{Descriptor, IntermediaryRole, Kind, fold, is_code, is_noise};
use crate::index::{Filter, InMemoryIndex, Point, SparseVector, VectorIndex, embed, embed_words};

/// Below this score a counterparty is "unknown".
pub const RESOLVE_THRESHOLD: f32 = 0.62;

/// A word-stage match this good skips the n-gram stage.
const SURE: f32 = 0.8;

/// Letters from which a one-word brand is a name of its own rather than an ordinary word.
const DISTINCT_NAME: usize = 7;

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
    /// The spelling's identifying letters run together ("IDMOBILE" for "iD Mobile").
    glued: String,
    /// Cleaning took a word of the name ("ID", "AT", "FI") and left at most one identifying
    /// word, which alone would name a different thing ("MOBILE", "INTERNET", "GOOGLE"): only
    /// the glued form counts.
    glue_only: bool,
    /// One long word no other merchant's spelling uses ("DECATHLON", not "REVENUE"): a name
    /// of its own even after other words.
    distinct: bool,
    /// One identifying word other merchants' spellings use too, with a shop's word ("CITY
    /// MARKET", "FRESH MARKET"): the shop's word must be there as well.
    whole: bool,
    /// The identifying words, in order, before cleaning ("ID", "MOBILE").
    full: Vec<String>,
    vector: SparseVector,
}

/// Where two or three consecutive words of `line` (an `&` between them left out) spell
/// `glued`: the index of the first and one past the last. Scored for every candidate, so it
/// walks the words without allocating.
fn spread(line: &[String], glued: &str) -> Option<(usize, usize)> {
    (0..line.len()).find_map(|start| {
        let (mut rest, mut words) = (glued, 0);
        for (i, w) in line.iter().enumerate().skip(start) {
            if w == "&" {
                rest = rest.strip_prefix('&').unwrap_or(rest);
                continue;
            }
            rest = rest.strip_prefix(w.as_str())?;
            words += 1;
            if rest.is_empty() {
                return (words >= 2).then_some((start, i + 1));
            }
            if words == 3 {
                return None;
            }
        }
        None
    })
}

/// Where `run` stands in `words`: the index of its first word and one past its last.
fn contains_run(words: &[String], run: &[String]) -> Option<(usize, usize)> {
    if run.is_empty() {
        return None;
    }
    words.windows(run.len()).position(|w| w == run).map(|i| (i, i + run.len()))
}

/// A match found in the whole line, as a position in the counterparty: 0 when it covers the
/// counterparty's first word (or the line has no counterparty), 1 when it comes after it (a
/// reference), `None` when it lies wholly in the bank's phrasing before it.
fn line_position(q: &Query<'_>, (start, end): (usize, usize)) -> Option<usize> {
    let Some(cp) = q.words.first().and_then(|w| q.line.iter().position(|l| l == w)) else {
        return Some(0);
    };
    if start <= cp && cp < end {
        Some(0)
    } else if start > cp {
        Some(1)
    } else {
        None
    }
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
    cleaned(text).0
}

/// Words whose loss in cleaning takes nothing from a name: articles, legal forms, web parts.
const HARMLESS: &[&str] = &[
    "THE", "LTD", "LIMITED", "INC", "LLC", "PLC", "GMBH", "SA", "SAS", "BV", "NV", "AG", "SPA",
    "SRL", "SL", "KG", "WWW", "HTTP", "HTTPS", "COM", "CO",
];

/// Noise words a spelling may carry that are not part of the name ("DM FIL" is a dm branch).
const LOOSE: &[&str] = &["FIL", "STORE", "ONLINE", "PAYMENT", "PAYMENTS", "PMT", "CARD"];

/// The cleaned words, the identifying words glued, and whether cleaning took part of the name.
fn cleaned(text: &str) -> (Vec<String>, String, bool, Vec<String>) {
    let all: Vec<String> = fold(text)
        .split(|c: char| !c.is_ascii_alphanumeric() && c != '\'')
        .map(|w| w.replace('\'', ""))
        .filter(|w| !w.is_empty())
        .collect();
    let clean: Vec<String> = all.iter().filter(|w| !is_noise(w)).cloned().collect();
    if !clean.iter().any(|w| w.len() >= 2) {
        // Letters joined by `&` ("M&S", "H&M", "B&Q") are one name, matched only glued with
        // its `&` as the line prints it.
        if all.len() >= 2 && text.contains('&') {
            let glued = all.join("&");
            return (all.clone(), glued, true, all);
        }
        let glued = all.concat();
        return (all.clone(), glued, false, all);
    }
    // Numbers of up to four digits belong to names ("48 MOBILE", "PIZZA 73", "SPORT 2000":
    // a name of one plain word and a number is matched whole); longer ones and codes do not.
    let identity = |w: &&String| {
        !HARMLESS.contains(&w.as_str())
            && !LOOSE.contains(&w.as_str())
            && !(is_code(w) && !(w.len() <= 4 && w.bytes().all(|b| b.is_ascii_digit())))
    };
    let full: Vec<String> = all.iter().filter(identity).cloned().collect();
    let glued: String = full.concat();
    // The words the matcher weighs, against every part of the name: "T-MOBILE", "ID MOBILE"
    // and "48 MOBILE" all weigh "MOBILE" alone.
    let strong = clean.iter().filter(|w| !WEAK.contains(&w.as_str()) && w.len() >= 2).count();
    let parts = full.iter().filter(|w| !WEAK.contains(&w.as_str()) || is_noise(w)).count();
    (clean, glued, strong <= 1 && parts > strong, full)
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
    "GROUPE",
    "GRUPPE",
    "GRUPO",
    "GRUPPO",
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

/// Articles a name may start with and a bank may leave out.
const ARTICLES: &[&str] = &["EL", "LA", "LE", "LES", "IL", "LO", "DER", "DIE", "DAS", "DE", "HET"];

/// One letter added, dropped, changed, or two neighbours swapped (`SAINSBUYRS`).
fn one_edit(a: &str, b: &str) -> bool {
    let (a, b) = (a.as_bytes(), b.as_bytes());
    if a.len().abs_diff(b.len()) > 1 {
        return false;
    }
    if a.len() == b.len()
        && let Some(i) = (0..a.len()).find(|&i| a[i] != b[i])
        && i + 1 < a.len()
        && a[i] == b[i + 1]
        && a[i + 1] == b[i]
        && a[i + 2..] == b[i + 2..]
    {
        return true;
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
        // A typo in a long word, after its first letter: a different first letter makes
        // another word (`HARBOUR` is not `BARBOUR`, `POTTERY` not `LOTTERY`).
        || (q.len() >= 6 && c.len() >= 6 && q.as_bytes()[0] == c.as_bytes()[0] && one_edit(q, c))
}

/// Words that say a business is a shop: weak alone, but part of a name whose other word is
/// common ("CITY MARKET").
const SHOP_WORDS: &[&str] = &["STORE", "STORES", "SHOP", "MARKET", "MKT"];

/// The identifying words of a spelling: not generic, not single letters.
fn identifying(words: &[String]) -> impl Iterator<Item = &String> {
    words.iter().filter(|w| !WEAK.contains(&w.as_str()) && w.len() >= 2)
}

impl Spelling {
    /// The merchant trades in `country`, or lists no country, or the line's country is unknown.
    fn trades_in(&self, country: Option<&str>) -> bool {
        country.is_none_or(|c| {
            self.merchant.countries.is_empty() || self.merchant.countries.iter().any(|m| m == c)
        })
    }
}

/// Marks the spellings that are one long word used by no other merchant (`distinct`), and
/// those whose one identifying word others use too beside a shop's word (`whole`).
fn mark_spellings(spellings: &mut HashMap<String, Spelling>) {
    let mut owners: HashMap<&str, HashSet<&str>> = HashMap::new();
    for s in spellings.values() {
        for w in &s.words {
            owners.entry(w.as_str()).or_default().insert(s.merchant.id.as_str());
        }
    }
    let shared = |w: &String| owners.get(w.as_str()).is_some_and(|o| o.len() > 1);
    let mut marks: HashMap<String, (bool, bool)> = HashMap::new();
    for (id, s) in spellings.iter() {
        let distinct = !s.glue_only
            && matches!(s.words.as_slice(), [w] if w.len() >= DISTINCT_NAME && !shared(w));
        let mut strong = identifying(&s.words);
        let whole = !s.glue_only
            && matches!((strong.next(), strong.next()), (Some(w), None) if shared(w))
            && s.words.iter().any(|w| SHOP_WORDS.contains(&w.as_str()));
        marks.insert(id.clone(), (distinct, whole));
    }
    for (id, s) in spellings.iter_mut() {
        (s.distinct, s.whole) = marks.get(id).copied().unwrap_or_default();
    }
}

impl Resolver {
    /// A resolver over `catalogue` with the in-process index.
    pub fn new(catalogue: &Catalogue) -> Self {
        Self::with_index(catalogue, Box::new(InMemoryIndex::default()))
    }

    /// A resolver over `catalogue` with another index backend (it is filled here).
    pub fn with_index(catalogue: &Catalogue, mut index: Box<dyn VectorIndex>) -> Self {
        let mut spellings = HashMap::new();
        // A website several merchants share ("marriott.com" for every Marriott brand) names
        // none of them.
        let mut sites: HashMap<&str, usize> = HashMap::new();
        for merchant in catalogue.iter() {
            if let Some(site) = &merchant.website {
                *sites.entry(site.as_str()).or_default() += 1;
            }
        }
        for merchant in catalogue.iter() {
            let merchant = Arc::new(merchant.clone());
            let mut texts = vec![merchant.name.clone()];
            texts.extend(merchant.aliases.iter().cloned());
            if let Some(site) = &merchant.website
                && sites.get(site.as_str()) == Some(&1)
            {
                texts.push(site.clone());
            }
            let mut seen = Vec::new();
            for text in texts {
                let (w, glued, glue_only, full) = cleaned(&text);
                let key = if glue_only { vec![glued.clone()] } else { w.clone() };
                if w.is_empty() || seen.contains(&key) {
                    continue;
                }
                let id = format!("{}#{}", merchant.id, seen.len());
                let vector = embed(&w.join(" "));
                index.upsert(Point { id: id.clone(), tenant: None, vector: vector.clone() });
                seen.push(key);
                let spelling = Spelling {
                    merchant: Arc::clone(&merchant),
                    text,
                    words: w,
                    glued,
                    glue_only,
                    full,
                    vector,
                    distinct: false,
                    whole: false,
                };
                spellings.insert(id, spelling);
            }
        }
        mark_spellings(&mut spellings);
        Self { index, spellings }
    }

    /// How many spellings are indexed.
    pub fn spellings(&self) -> usize {
        self.spellings.len()
    }

    /// The best merchant for `descriptor`, if one scores at least [`RESOLVE_THRESHOLD`].
    /// `country` (ISO alpha-2), when known, breaks ties towards merchants trading there.
    pub fn resolve(&self, descriptor: &Descriptor, country: Option<&str>) -> Option<Resolution> {
        let query = Query {
            words: &descriptor.counterparty,
            line: &descriptor.words,
            country,
            cut: descriptor.cut_short(),
            // A transfer to a business names the business first ("FPO BRITISH GAS"); a merchant
            // further on is a reference ("FPO J SMITH REF NETFLIX SHARE").
            first_only: matches!(descriptor.kind, Kind::Transfer | Kind::StandingOrder),
        };
        let from_counterparty = self.best(&query);
        match &descriptor.intermediary {
            Some(i) if i.role == IntermediaryRole::Platform => {
                // The platform's own product ("DOORDASH*DASHPASS") names the platform in its
                // spelling; otherwise the platform is the merchant ("DOORDASH*CHIPOTLE").
                let platform = words(&i.name);
                let own_product = from_counterparty.as_ref().is_some_and(|r| {
                    let matched = words(&r.matched);
                    matched.len() > platform.len() && matched.starts_with(&platform)
                });
                if own_product {
                    return from_counterparty;
                }
                let by_name = Query {
                    words: &platform,
                    line: &platform,
                    cut: false,
                    first_only: false,
                    ..query
                };
                self.best(&by_name).or(from_counterparty)
            }
            // A processor's counterparty; failing that, the processor is not a merchant.
            _ => from_counterparty,
        }
    }

    fn best(&self, query: &Query<'_>) -> Option<Resolution> {
        if query.words.is_empty() {
            return None;
        }
        let text = query.words.join(" ");
        let vector = embed(&text);
        // First the spellings that share a whole word (short posting lists). Unless one of them
        // is a sure match, the full n-gram query too (typos, truncation, glued words), and the
        // better of the two.
        // The shared-word probe weighs the first word twice and every other word once: a brand
        // stands first, and other words (a place printed twice: "HOYTS MELBOURNE CENTRAL
        // MELBOURNE") must not crowd it out of the candidates.
        let mut probe: Vec<&str> = Vec::with_capacity(query.words.len() + 1);
        for w in query.words.first().into_iter().chain(query.words) {
            if probe.len() < 2 || !probe.contains(&w.as_str()) {
                probe.push(w);
            }
        }
        let by_words = self.pick(query, &vector, &embed_words(&probe.join(" ")));
        if by_words.as_ref().is_some_and(|r| r.confidence >= SURE) {
            return by_words;
        }
        let by_grams = self.pick(query, &vector, &vector);
        match (by_words, by_grams) {
            (Some(w), Some(g)) => Some(if g.confidence > w.confidence { g } else { w }),
            (w, g) => w.or(g),
        }
    }

    /// The best of the candidates `probe` retrieves, scored against the full `vector`.
    fn pick(
        &self,
        query: &Query<'_>,
        vector: &SparseVector,
        probe: &SparseVector,
    ) -> Option<Resolution> {
        let hits = self.index.search(probe, CANDIDATES, &Filter::default());
        let mut best: Option<(f32, usize, &Spelling)> = None;
        for hit in hits {
            let Some(spelling) = self.spellings.get(&hit.id) else { continue };
            let cosine = spelling.vector.dot(vector);
            let score = score(query, spelling, cosine);
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

/// What a spelling is scored against.
#[derive(Clone, Copy)]
struct Query<'a> {
    /// The counterparty's words.
    words: &'a [String],
    /// Every word of the line, noise included.
    line: &'a [String],
    country: Option<&'a str>,
    /// The line is long enough to have been cut short at its end.
    cut: bool,
    /// Only a merchant at the counterparty's start counts (transfers).
    first_only: bool,
}

/// The word-level score of `spelling` for counterparty words `query`.
fn score(q: &Query<'_>, spelling: &Spelling, cosine: f32) -> f32 {
    let (query, cut) = (q.words, q.cut);
    let n = query.len();
    // The words that identify the merchant: not generic, not single letters (and a shop's word
    // beside a common one).
    let wanted: Vec<&String> = if spelling.whole {
        spelling
            .words
            .iter()
            .filter(|w| !WEAK.contains(&w.as_str()) || SHOP_WORDS.contains(&w.as_str()))
            .collect()
    } else {
        identifying(&spelling.words).collect()
    };
    // With no identifying word ("E.ON" is "E" and "ON"), only the glued form can match.
    let mut first: Option<usize> = None;
    let mut matched = 0usize;
    // The spelling's words in the spelling's order ("JOES PIZZA ... NEW YORK" is not "NEW
    // YORK PIZZA"), each at most once.
    let mut from = 0;
    let mut lead = false;
    if !spelling.glue_only {
        for (ci, c) in wanted.iter().enumerate() {
            if let Some(qi) = (from..n).find(|&qi| word_matches(&query[qi], c, qi, n, cut)) {
                from = qi + 1;
                matched += 1;
                // The first identifying word, or the one after a leading article ("EL CORTE
                // INGLES" is printed "CORTE INGLES").
                lead |= ci == 0 || (ci == 1 && ARTICLES.contains(&wanted[0].as_str()));
                first = Some(first.map_or(qi, |f: usize| f.min(qi)));
            }
        }
    }
    // The spelling glued together ("WHOLEFOODS" for "WHOLE FOODS", "7 ELEVEN" for "7ELEVEN").
    let glued: String =
        if spelling.glue_only { spelling.glued.clone() } else { spelling.words.concat() };
    let need = wanted.len().max(1);
    if matched < need
        && glued.len() >= 3
        && let Some(qi) = (0..n).find(|&qi| {
            query[qi] == glued || (qi + 1 < n && format!("{}{}", query[qi], query[qi + 1]) == glued)
        })
    {
        matched = need;
        lead = true;
        first = Some(qi);
    }
    // A name the line spreads over two or three words ("H-E-B").
    if matched < need
        && glued.len() >= 3
        && let Some(at) = spread(q.line, &glued).and_then(|span| line_position(q, span))
    {
        matched = need;
        lead = true;
        first = Some(at);
    }
    // A name cleaning would cut ("ID MOBILE", "7-ELEVEN", "TRADING 212"), printed whole.
    if spelling.glue_only
        && first.is_none()
        && let Some(at) =
            contains_run(q.line, &spelling.full).and_then(|span| line_position(q, span))
    {
        matched = need;
        lead = true;
        first = Some(at);
    }
    let Some(first) = first else { return 0.0 };
    let cover = ratio(matched, need);
    if cover < 0.99 && (wanted.len() <= 2 || !lead) {
        // A one- or two-word name must be there whole; a longer one at least from its first
        // identifying word ("TOP UP" without "EE" is no "EE TOP UP").
        return 0.0;
    }
    if q.first_only && first != 0 {
        return 0.0;
    }
    // Brands come first in a counterparty; a one-word brand further on is usually an ordinary
    // word inside another business's name ("LITTLE ACORNS NURSERY"), unless it is a long name
    // of its own, trading in the line's country, after wording the cleaner kept ("SPORT
    // DECATHLON BRNO" from a category column; the cascade still turns it down beside another
    // trade's word or where it is a bank).
    let trades_here = spelling.trades_in(q.country);
    let position = match (first, wanted.len()) {
        (0, _) => 1.0,
        (_, 1) if spelling.distinct && trades_here && query.contains(wanted[0]) => 0.9,
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
    let local = if trades_here { 1.0 } else { 0.9 };
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
mod tests;
