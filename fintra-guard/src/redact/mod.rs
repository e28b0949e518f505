//! PII redaction for anything bound for a model or a log: card numbers (Luhn), IBANs (mod-97),
//! UK sort codes and account numbers, US routing numbers (ABA checksum), e-mail addresses,
//! phone numbers (E.164 and UK/US national), UK postcodes, National Insurance numbers, US
//! social security numbers, and names where they follow a payment phrase ("TO J SMITH").
//!
//! Each finding is replaced by a placeholder (`[CARD_1]`, `[IBAN_1]`, …): the same value gets the
//! same placeholder, and [`Redacted::restore`] puts the originals back into text that carries
//! the placeholders (a model's answer, say). Identifiers are recognised by their check digits
//! and format rules, and the context-dependent ones (sort codes, account and routing numbers)
//! only next to the words that name them, so amounts, dates and references stay.
//!
//! `docs/guard.md` has the measured precision and recall per type.

mod checks;

use std::collections::HashMap;
use std::sync::OnceLock;

use regex::Regex;
use serde::{Deserialize, Serialize};

/// What a finding is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum PiiKind {
    /// A payment card number passing Luhn.
    Card,
    /// An IBAN passing mod-97.
    Iban,
    /// A UK sort code.
    SortCode,
    /// A UK account number.
    AccountNumber,
    /// A US ABA routing number.
    UsRouting,
    /// An e-mail address.
    Email,
    /// A phone number.
    Phone,
    /// A UK postcode.
    UkPostcode,
    /// A UK National Insurance number.
    NiNumber,
    /// A US social security number.
    Ssn,
    /// A person's name after a payment phrase.
    Name,
}

impl PiiKind {
    /// Every kind.
    pub const ALL: [Self; 11] = [
        Self::Card,
        Self::Iban,
        Self::SortCode,
        Self::AccountNumber,
        Self::UsRouting,
        Self::Email,
        Self::Phone,
        Self::UkPostcode,
        Self::NiNumber,
        Self::Ssn,
        Self::Name,
    ];

    /// The placeholder label (`CARD`, `IBAN`, …).
    pub fn label(self) -> &'static str {
        match self {
            Self::Card => "CARD",
            Self::Iban => "IBAN",
            Self::SortCode => "SORT_CODE",
            Self::AccountNumber => "ACCOUNT_NUMBER",
            Self::UsRouting => "US_ROUTING",
            Self::Email => "EMAIL",
            Self::Phone => "PHONE",
            Self::UkPostcode => "UK_POSTCODE",
            Self::NiNumber => "NI_NUMBER",
            Self::Ssn => "SSN",
            Self::Name => "NAME",
        }
    }

    /// The kind of a label, the inverse of [`PiiKind::label`].
    pub fn from_label(label: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|k| k.label() == label)
    }
}

/// One piece of PII found in a text.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Finding {
    /// What it is.
    pub kind: PiiKind,
    /// Byte range in the original text.
    pub start: usize,
    /// End of the byte range (exclusive).
    pub end: usize,
}

/// A text with its PII replaced by placeholders.
#[derive(Clone, PartialEq, Eq)]
pub struct Redacted {
    /// The redacted text.
    pub text: String,
    /// What was found, in the original text's byte offsets.
    pub findings: Vec<Finding>,
    /// Placeholder → original value.
    originals: Vec<(String, String)>,
}

impl std::fmt::Debug for Redacted {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // The originals are the PII: never in a Debug string.
        f.debug_struct("Redacted")
            .field("text", &self.text)
            .field("findings", &self.findings)
            .finish_non_exhaustive()
    }
}

impl Redacted {
    /// `text` with every placeholder of this redaction replaced by its original value.
    pub fn restore(&self, text: &str) -> String {
        let mut out = text.to_owned();
        // Longest placeholders first, so `[CARD_10]` is not read as `[CARD_1]` + "0]".
        let mut pairs: Vec<&(String, String)> = self.originals.iter().collect();
        pairs.sort_by_key(|(p, _)| std::cmp::Reverse(p.len()));
        for (placeholder, original) in pairs {
            out = out.replace(placeholder.as_str(), original);
        }
        out
    }

    /// The placeholders and the values they stand for.
    pub fn placeholders(&self) -> impl Iterator<Item = (&str, &str)> {
        self.originals.iter().map(|(p, o)| (p.as_str(), o.as_str()))
    }
}

struct Patterns {
    card: Regex,
    iban: Regex,
    sort_code: Regex,
    account: Regex,
    nine: Regex,
    email: Regex,
    phone_e164: Regex,
    phone_uk: Regex,
    phone_us: Regex,
    postcode: Regex,
    ni: Regex,
    ssn: Regex,
    payment_phrase: Regex,
}

fn patterns() -> &'static Patterns {
    static PATTERNS: OnceLock<Patterns> = OnceLock::new();
    PATTERNS.get_or_init(|| {
        // The patterns are literals checked by the tests; a failure to compile one is a bug.
        let re = |p: &str| Regex::new(p).unwrap_or_else(|e| panic!("redaction pattern {p}: {e}"));
        Patterns {
            card: re(r"\b\d(?:[ -]?\d){12,18}\b"),
            iban: re(r"\b[A-Z]{2}\d{2}(?:[ ]?[A-Z0-9]){10,32}"),
            sort_code: re(r"\b\d{2}([- ]?)\d{2}([- ]?)\d{2}\b"),
            account: re(r"\b\d{8}\b"),
            nine: re(r"\b\d{9}\b"),
            email: re(r"\b[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}\b"),
            phone_e164: re(r"\+\d{1,3}(?:[ -]?\(?\d\)?){6,14}\b"),
            // UK numbers start 01–09 after the trunk 0; US area codes and exchanges 2–9.
            phone_uk: re(r"\b0[1-9]\d{1,3}[ -]?\d{3,4}[ -]?\d{3,4}\b"),
            phone_us: re(r"(?:\([2-9]\d{2}\)\s?|\b[2-9]\d{2}[-.])[2-9]\d{2}[-.]\d{4}\b"),
            postcode: re(r"\b[A-Z]{1,2}\d[A-Z\d]?\s?\d[ABD-HJLNP-UW-Z]{2}\b"),
            ni: re(r"\b([A-Z]{2})\s?\d{2}\s?\d{2}\s?\d{2}\s?[A-D]\b"),
            ssn: re(r"\b(\d{3})-(\d{2})-(\d{4})\b"),
            // Statement style in capitals (a bare "TO"/"FROM" only there), or an explicit
            // phrase in any case.
            payment_phrase: re(
                r"\b(?:PAYMENT TO|PAID TO|SENT TO|TRANSFER TO|TRANSFER FROM|TFR TO|TFR FROM|FPO TO|FPI FROM|BGC FROM|BACS TO|BACS FROM|SO TO|FROM|TO|(?i:payment to|payment from|paid to|sent to|send to|transfer to|transfer from|received from|money from|new payee:?|add payee:?|payee:|pay))\s+",
            ),
        }
    })
}

/// Lower-cased text in the `width` bytes before `at` (on character boundaries).
fn before(text: &str, at: usize, width: usize) -> String {
    let mut start = at.saturating_sub(width);
    while !text.is_char_boundary(start) {
        start += 1;
    }
    text[start..at].to_ascii_lowercase()
}

fn digits_of(s: &str) -> Vec<u8> {
    s.bytes().filter(u8::is_ascii_digit).collect()
}

const SORT_CODE_WORDS: [&str; 5] = ["sort code", "sortcode", "s/c", "sc ", "sort"];
const ACCOUNT_WORDS: [&str; 6] = ["account", "acct", "a/c", "acc ", "acc no", "account no"];
const ROUTING_WORDS: [&str; 8] = ["routing", "aba", "rtn", "transit", "rt#", "ach", "micr", "⑆"];

/// True when the match continues an IBAN-like run: `GB10 HBUK 2185 …`, `DE61 1231 …` (the
/// inside of a grouped account identifier whose check digits failed, not a card number).
fn inside_grouped_code(text: &str, start: usize) -> bool {
    let Some(before) = text[..start].strip_suffix(' ') else { return false };
    for token in before.rsplit(' ').take(3) {
        let b = token.as_bytes();
        let iban_head = b.len() == 4
            && b[..2].iter().all(u8::is_ascii_uppercase)
            && b[2..].iter().all(u8::is_ascii_digit);
        if iban_head {
            return true;
        }
        if !(b.len() == 4 && b.iter().all(u8::is_ascii_alphanumeric)) {
            return false;
        }
    }
    false
}

fn cards(text: &str, out: &mut Vec<Finding>) {
    for m in patterns().card.find_iter(text) {
        let digits = digits_of(m.as_str());
        if (13..=19).contains(&digits.len())
            && checks::luhn(&digits)
            && !inside_grouped_code(text, m.start())
        {
            out.push(Finding { kind: PiiKind::Card, start: m.start(), end: m.end() });
        }
    }
}

fn ibans(text: &str, out: &mut Vec<Finding>) {
    for m in patterns().iban.find_iter(text) {
        let Some(len) = checks::iban_length(&m.as_str().as_bytes()[..2]) else { continue };
        // Take exactly the country's length of characters (groups may be followed by words).
        let (mut taken, mut end) = (Vec::with_capacity(len), m.start());
        for (i, c) in m.as_str().char_indices() {
            if taken.len() == len {
                break;
            }
            if c != ' ' {
                taken.push(c as u8);
            }
            end = m.start() + i + c.len_utf8();
        }
        let followed_by_alnum = text[end..].chars().next().is_some_and(char::is_alphanumeric);
        if taken.len() == len && !followed_by_alnum && checks::iban_mod97(&taken) {
            out.push(Finding { kind: PiiKind::Iban, start: m.start(), end });
        }
    }
}

/// Sort codes and account numbers, which need context: words that name them, or each other.
fn bank_details(text: &str, out: &mut Vec<Finding>) {
    let mut sort_codes = Vec::new();
    for m in patterns().sort_code.find_iter(text) {
        let near = before(text, m.start(), 40);
        let account = patterns().account.find_at(text, m.end());
        let gap = |a: &regex::Match<'_>| &text[m.end()..a.start()];
        let followed_by_account = account.is_some_and(|a| {
            a.start() - m.end() <= 16 && gap(&a).chars().all(|c| !c.is_ascii_digit())
        });
        // "204577 63019284": six digits, one space, eight digits is how UK details are written.
        let adjacent_account = account.is_some_and(|a| gap(&a) == " ");
        let hyphenated = m.as_str().contains('-');
        let named = SORT_CODE_WORDS.iter().any(|w| near.contains(w));
        if named || (followed_by_account && hyphenated) || adjacent_account {
            sort_codes.push((m.start(), m.end()));
            out.push(Finding { kind: PiiKind::SortCode, start: m.start(), end: m.end() });
        }
    }
    for m in patterns().account.find_iter(text) {
        let near = before(text, m.start(), 32);
        let after_sort_code =
            sort_codes.iter().any(|&(_, end)| end <= m.start() && m.start() - end <= 16);
        if ACCOUNT_WORDS.iter().any(|w| near.contains(w)) || after_sort_code {
            out.push(Finding { kind: PiiKind::AccountNumber, start: m.start(), end: m.end() });
        }
    }
    for m in patterns().nine.find_iter(text) {
        let near = before(text, m.start(), 32);
        if ROUTING_WORDS.iter().any(|w| near.contains(w)) && checks::aba(m.as_str().as_bytes()) {
            out.push(Finding { kind: PiiKind::UsRouting, start: m.start(), end: m.end() });
        }
    }
}

fn contacts(text: &str, out: &mut Vec<Finding>) {
    let p = patterns();
    for m in p.email.find_iter(text) {
        out.push(Finding { kind: PiiKind::Email, start: m.start(), end: m.end() });
    }
    for m in p.phone_e164.find_iter(text) {
        let n = digits_of(m.as_str()).len();
        if (8..=15).contains(&n) {
            out.push(Finding { kind: PiiKind::Phone, start: m.start(), end: m.end() });
        }
    }
    for m in p.phone_uk.find_iter(text) {
        let n = digits_of(m.as_str()).len();
        let preceded_by_plus = text[..m.start()].ends_with('+');
        if (10..=11).contains(&n) && !preceded_by_plus {
            out.push(Finding { kind: PiiKind::Phone, start: m.start(), end: m.end() });
        }
    }
    for m in p.phone_us.find_iter(text) {
        out.push(Finding { kind: PiiKind::Phone, start: m.start(), end: m.end() });
    }
}

fn national_ids(text: &str, out: &mut Vec<Finding>) {
    let p = patterns();
    for m in p.postcode.find_iter(text) {
        out.push(Finding { kind: PiiKind::UkPostcode, start: m.start(), end: m.end() });
    }
    for c in p.ni.captures_iter(text) {
        let (Some(all), Some(prefix)) = (c.get(0), c.get(1)) else { continue };
        if checks::ni_prefix(prefix.as_str().as_bytes()) {
            out.push(Finding { kind: PiiKind::NiNumber, start: all.start(), end: all.end() });
        }
    }
    for c in p.ssn.captures_iter(text) {
        let (Some(all), Some(a), Some(g), Some(s)) = (c.get(0), c.get(1), c.get(2), c.get(3))
        else {
            continue;
        };
        if checks::ssn(a.as_str(), g.as_str(), s.as_str()) {
            out.push(Finding { kind: PiiKind::Ssn, start: all.start(), end: all.end() });
        }
    }
}

/// Words that end a name (references, channels) or show the payee is a business or a public
/// body: generic English words, not a list of merchants.
const NOT_NAMES: [&str; 75] = [
    "REF",
    "REFERENCE",
    "VIA",
    "ON",
    "FOR",
    "AT",
    "BGC",
    "FPO",
    "FPI",
    "DD",
    "SO",
    "BP",
    "CARD",
    "MOBILE",
    "ONLINE",
    "BANK",
    "LTD",
    "LIMITED",
    "PLC",
    "INC",
    "LLC",
    "CO",
    "STORES",
    "STORE",
    "SHOP",
    "UK",
    "GROUP",
    "SAVINGS",
    "ACCOUNT",
    "ACC",
    "THE",
    "MY",
    "YOUR",
    "AND",
    "ISA",
    "POT",
    "HMRC",
    "COUNCIL",
    "SERVICES",
    "INSURANCE",
    "HM",
    "REVENUE",
    "CUSTOMS",
    "GAS",
    "WATER",
    "ENERGY",
    "ELECTRIC",
    "POWER",
    "TELECOM",
    "BROADBAND",
    "LICENCE",
    "LICENSE",
    "TRUST",
    "FUND",
    "CHARITY",
    "CLUB",
    "SCHOOL",
    "UNIVERSITY",
    "COLLEGE",
    "HOTEL",
    "RESTAURANT",
    "CAFE",
    "MOTORS",
    "GARAGE",
    "PROPERTIES",
    "HOMES",
    "HOLDINGS",
    "PARTNERS",
    "SOLICITORS",
    "ESTATES",
    "LETTINGS",
    "PHARMACY",
    "IBAN",
    "SORT",
    "ACCT",
];
const TITLES: [&str; 6] = ["MR", "MRS", "MS", "MISS", "DR", "MX"];

/// Names after payment phrases: an initial or title and a surname, or a first name and a
/// surname; never a business.
fn names(text: &str, out: &mut Vec<Finding>) {
    for m in patterns().payment_phrase.find_iter(text) {
        let rest = &text[m.end()..];
        let mut tokens: Vec<(usize, usize, &str)> = Vec::new();
        let mut offset = 0;
        for word in rest.split(' ') {
            let clean = word.trim_end_matches([',', '.', ';', ':', '"', '\'', ')']);
            let is_name_word = !clean.is_empty()
                && clean.chars().all(|c| c.is_alphabetic() || c == '\'' || c == '-' || c == '.')
                && clean.chars().next().is_some_and(char::is_uppercase)
                && !NOT_NAMES.contains(&clean.to_ascii_uppercase().trim_end_matches('.'));
            if !is_name_word || tokens.len() == 4 {
                break;
            }
            tokens.push((offset, offset + clean.len(), clean));
            offset += word.len() + 1;
            if clean.len() != word.len() {
                break; // punctuation ends the name
            }
        }
        let words: Vec<&str> = tokens.iter().map(|t| t.2).collect();
        let start_at = usize::from(
            words
                .first()
                .is_some_and(|w| TITLES.contains(&w.to_ascii_uppercase().trim_end_matches('.'))),
        );
        let name = &words[start_at.min(words.len())..];
        let initial = |w: &str| w.trim_end_matches('.').chars().count() == 1;
        let surname_ok = name.last().is_some_and(|w| w.chars().count() >= 2 && !initial(w));
        // "J SMITH", "MARY TAYLOR", "Sarah Connor", and the surname-first "OKAFOR C".
        let surname_first = name.len() == 2 && !initial(name[0]) && initial(name[1]);
        let shaped = name.len() >= 2
            && (surname_ok || surname_first)
            && (initial(name[0]) || name.len() <= 3);
        if shaped {
            let (first, last) = (tokens[start_at], tokens[tokens.len() - 1]);
            out.push(Finding {
                kind: PiiKind::Name,
                start: m.end() + first.0,
                end: m.end() + last.1,
            });
        }
    }
}

/// Every finding in `text`, overlaps resolved (the longer wins; on a tie, the earlier kind of
/// [`PiiKind::ALL`]), in text order.
pub fn find(text: &str) -> Vec<Finding> {
    let mut all = Vec::new();
    ibans(text, &mut all);
    cards(text, &mut all);
    bank_details(text, &mut all);
    contacts(text, &mut all);
    national_ids(text, &mut all);
    names(text, &mut all);
    all.sort_by_key(|f| (std::cmp::Reverse(f.end - f.start), f.kind, f.start));
    let mut kept: Vec<Finding> = Vec::new();
    for f in all {
        if kept.iter().all(|k| f.end <= k.start || f.start >= k.end) {
            kept.push(f);
        }
    }
    kept.sort_by_key(|f| f.start);
    kept
}

/// `text` with every finding replaced by a placeholder (`[CARD_1]`), reversible with
/// [`Redacted::restore`].
pub fn redact(text: &str) -> Redacted {
    let findings = find(text);
    let mut out = String::with_capacity(text.len());
    let mut originals: Vec<(String, String)> = Vec::new();
    let mut by_value: HashMap<(PiiKind, &str), String> = HashMap::new();
    let mut counts: HashMap<PiiKind, usize> = HashMap::new();
    let mut at = 0;
    for f in &findings {
        out.push_str(&text[at..f.start]);
        let value = &text[f.start..f.end];
        let placeholder = by_value.entry((f.kind, value)).or_insert_with(|| {
            let n = counts.entry(f.kind).or_insert(0);
            *n += 1;
            let placeholder = format!("[{}_{}]", f.kind.label(), n);
            originals.push((placeholder.clone(), value.to_owned()));
            placeholder
        });
        out.push_str(placeholder);
        at = f.end;
    }
    out.push_str(&text[at..]);
    Redacted { text: out, findings, originals }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_spec_cases_redact_and_restore() {
        let text = "FPO TO J SMITH REF RENT 20-32-06 73849261, card 4111 1111 1111 1111, ring 07700 900123 or mail jo@example.com";
        let r = redact(text);
        assert_eq!(
            r.text,
            "FPO TO [NAME_1] REF RENT [SORT_CODE_1] [ACCOUNT_NUMBER_1], card [CARD_1], ring [PHONE_1] or mail [EMAIL_1]"
        );
        assert_eq!(r.restore(&r.text), text);
        assert!(!format!("{r:?}").contains("4111"), "Debug shows no originals");
    }

    #[test]
    fn numbers_that_only_look_like_pii_stay() {
        for text in [
            "REF 1234567890123456",
            "Paid 1,234.56 on 2025-01-31",
            "GB83WEST12345698765432",
            "TOYS R US 0123",
            "order 123456789",
            "PAYMENT TO TESCO STORES LTD",
        ] {
            assert!(find(text).is_empty(), "{text}: {:?}", find(text));
        }
    }
}
