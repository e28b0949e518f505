//! What kind of movement a line is, from its bank phrasing: the phrases found, the ones that
//! mean something else where they stand, and which of them decides.

use super::lexicon::{CURRENCIES, MONTHS, REGIONS};
use super::phrases::PHRASES;
use super::{Kind, month_paid, phrase_words};

/// Words that close a statement period: a fee phrase only when no interest is named.
const CLOSING_WORDS: &[&str] = &["ABSCHLUSS", "RECHNUNGSABSCHLUSS"];

/// Two- and three-letter codes that are bank phrasing only at the start or end of a line; in
/// the middle they are more often part of a name. Longer phrases (and FEE, ATM, and the faster
/// payment codes FPI and FPO that follow the payer's name) count anywhere, except a pair of
/// initials (`D/D`, also "D D JONES"), `BANK CREDIT` ("TD BANK CREDIT CARD"), `MAKSU` and
/// `DEBIT DIRECT` ("DIRECT DEBIT DIRECT LINE INSURANCE").
fn ambiguous(phrase: &[&str]) -> bool {
    let short = phrase.len() == 1
        && phrase[0].len() <= 3
        && !matches!(phrase[0], "FEE" | "ATM" | "FPI" | "FPO");
    short
        || phrase == ["D", "D"]
        || phrase == ["BANK", "CREDIT"]
        || phrase == ["MAKSU"]
        || phrase == ["DEBIT", "DIRECT"]
}

/// True when a phrase found in `words` (ending before `end`) means something else there.
fn something_else(phrase: &[&str], words: &[String], end: usize) -> bool {
    let next = words.get(end).map(String::as_str);
    match phrase {
        // A Sparkasse's cash machine is "GA" before its number ("GA NR00004123"); elsewhere GA
        // is Georgia ("GA DEPT OF REV").
        ["GA"] => !next.is_some_and(|w| w.starts_with("NR")),
        // Finnish "Maksu" (a payment), not Estonia's tax board ("MAKSU- JA TOLLIAMET").
        ["MAKSU"] => next == Some("JA"),
        // "Korko" (interest), not a loan instalment that includes it ("LAINAN LYHENNYS JA
        // KORKO").
        ["KORKO"] => words.iter().any(|w| w.starts_with("LAINA") || w == "LYHENNYS"),
        // US military mail ("NAVY EXCHANGE FPO AP") is an address, not a faster payment.
        ["FPO"] => matches!(next, Some("AA" | "AE" | "AP")),
        // "… CREDIT CARD" is a card, not a credit.
        [.., "CREDIT"] => next == Some("CARD"),
        // Wages abbreviated before the month ("HALCYON TECH LTD SAL FEB"); elsewhere SAL is a
        // Spanish company's legal form ("TALLERES GARCIA SAL").
        // The month may carry its year ("BRIGHTWELL HOMES LTD SAL MAR24 FPI").
        ["SAL"] => !next.is_some_and(month_paid),
        // A deposit opens a line as its type ("DEPOSIT CENTRELINK …"); inside a line it is
        // what was paid for ("HOLIDAY COTTAGES DEPOSIT").
        ["DEPOSIT"] => !words[..end - 1].iter().all(|w| filler(w)),
        // Italian rent and the television licence are no bank's fee ("CANONE LOCAZIONE
        // APRILE", "CANONE DI LOCAZIONE", "CANONE RAI").
        ["CANONE"] => {
            let of = matches!(next, Some("DI" | "DEL"));
            let what = words.get(if of { end + 1 } else { end }).map(String::as_str);
            matches!(what, Some("LOCAZIONE" | "AFFITTO" | "RAI" | "TV"))
        }
        // Interest inside a loan's instalment ("PRESTACAO EMPRESTIMO HABITACAO CAPITAL+JUROS",
        // "REMBOURSEMENT PRET … CAPITAL 312,40 INTERETS 41,18"), and the repayment of a loan,
        // which refunds nothing.
        ["JUROS"] => words.iter().any(|w| matches!(w.as_str(), "PRESTACAO" | "EMPRESTIMO")),
        ["INTERETS" | "REMBOURSEMENT"] => {
            words.iter().any(|w| matches!(w.as_str(), "PRET" | "ECHEANCE"))
        }
        ["UROK"] => words.iter().any(|w| matches!(w.as_str(), "SPLATKA" | "UVERU" | "JISTINA")),
        // Apple Card's reward on a purchase ("Whole Foods Market … 2% Daily Cash").
        ["CASH"] => end >= 2 && words[end - 2] == "DAILY",
        // A Polish transfer's title is the payer's own words ("PRZELEW … TYTUŁ: zwrot za
        // pizzę" pays a friend back), not a shop's refund.
        ["ZWROT"] => words.iter().any(|w| w == "TYTUL" || w == "PRZELEW"),
        // A rent's service charges ("LOYER + CHARGES", "MIETE NEBENKOSTEN"), not a bank's.
        ["CHARGES"] => {
            end >= 2
                && words[..end - 1].iter().rev().take(2).any(|w| RENT_WORDS.contains(&w.as_str()))
        }
        _ => false,
    }
}

/// Words of a rent that make a following "CHARGES" the tenant's service charges.
const RENT_WORDS: &[&str] = &["LOYER", "RENT", "MIETE", "LOYERS"];

/// A date's or an amount's word: digits and separators, a month's name, or the currency of an
/// export's amount column ("512345678 EUR 20240318 … BEA, Betaalpas SHELL").
fn filler(word: &str) -> bool {
    word.bytes().all(|b| b.is_ascii_digit() || matches!(b, b'.' | b',' | b'/' | b'-' | b':'))
        || MONTHS.contains(&word)
        || CURRENCIES.contains(&word)
}

/// How strongly a purpose kind says what a line is: a fee that mentions a cash machine is a fee.
fn purpose_rank(kind: Kind) -> u8 {
    match kind {
        Kind::Fee => 5,
        Kind::Interest => 4,
        Kind::Refund => 3,
        Kind::Salary => 2,
        Kind::Cash => 1,
        _ => 0,
    }
}

/// The kind of a line and the spans of the bank phrases found in it. What the movement is for
/// (fee, interest, refund, salary, cash) wins over how it moved (card, direct debit, standing
/// order, transfer); among channels the longest phrase wins.
pub(super) fn kind_of(words: &[String]) -> (Kind, Vec<(usize, usize)>) {
    let mut spans: Vec<(usize, usize, Kind)> = Vec::new();
    let (mut channel, mut channel_len) = (Kind::Unknown, 0);
    let mut purpose = Kind::Unknown;
    // Short phrases inside the line, kept aside: bank phrasing only where they continue a
    // phrase of the same kind ("ADDEBITO DIRETTO SDD FASTWEB").
    let mut inner: Vec<(usize, usize, Kind)> = Vec::new();
    for (phrase, k) in PHRASES {
        let wanted = phrase_words(phrase);
        for start in 0..words.len() {
            let end = start + wanted.len();
            if end > words.len() || !words[start..end].iter().zip(&wanted).all(|(a, b)| a == b) {
                continue;
            }
            if something_else(&wanted, words, end) {
                continue;
            }
            // A fee of nothing ("Comision 0,00") charges no fee: still phrasing, no purpose.
            let nothing = |w: &[String]| w.iter().all(|w| w.bytes().all(|b| b == b'0'));
            if *k == Kind::Fee && words.get(end..end + 2).is_some_and(nothing) {
                spans.push((start, end, Kind::Unknown));
                continue;
            }
            // A short code counts at the line's edge. A leading date is a column before any
            // line, and a closing date or reference number after a code ("FP 14/03/24 1032",
            // "DD 031424", "CPT 20.00") still closes it — but not after BP, which is a fuel
            // brand before its site number as often as a bill payment ("CARD PAYMENT TO BP
            // 4417"), nor INT before a phone number. A closing US state is no phrase
            // ("DELTA.COM GA" is Georgia, not a Geldautomat).
            let after = |w: &[String]| {
                w.is_empty()
                    || *k != Kind::Interest && wanted != ["BP"] && w.iter().all(|w| filler(w))
            };
            let edge = words[..start].iter().all(|w| filler(w))
                || (after(&words[end..]) && !REGIONS.contains(&words[start].as_str()));
            if ambiguous(&wanted) && !edge {
                inner.push((start, end, *k));
                continue;
            }
            spans.push((start, end, *k));
            // Phrasing that says only that money came in ("DEPOSIT"): no kind.
            if *k == Kind::Unknown {
                continue;
            }
            if purpose_rank(*k) > 0 {
                if purpose_rank(*k) > purpose_rank(purpose) {
                    purpose = *k;
                }
            } else if wanted.len() > channel_len {
                channel_len = wanted.len();
                channel = *k;
            }
        }
    }
    chain_inner_phrases(&mut spans, &inner);
    // A purpose word inside a longer phrase of another kind is part of that phrase ("CONDO
    // FEE" is a debit to the association, not a bank's fee).
    if spans.iter().any(|&(start, end, k)| purpose_rank(k) > 0 && contained(&spans, start, end, k))
    {
        purpose = spans
            .iter()
            .filter(|&&(start, end, k)| !contained(&spans, start, end, k))
            .map(|s| s.2)
            .filter(|k| purpose_rank(*k) > 0)
            .max_by_key(|k| purpose_rank(*k))
            .unwrap_or(Kind::Unknown);
    }
    // A statement closing ("Abschluss") is a fee unless it closes with interest.
    let closing = |&(start, end, k): &(usize, usize, Kind)| {
        k != Kind::Fee || (end == start + 1 && CLOSING_WORDS.contains(&words[start].as_str()))
    };
    if purpose == Kind::Fee
        && spans.iter().any(|s| s.2 == Kind::Interest)
        && spans.iter().all(closing)
    {
        purpose = Kind::Interest;
    }
    let spans = spans.into_iter().map(|(start, end, _)| (start, end)).collect();
    (if purpose == Kind::Unknown { channel } else { purpose }, spans)
}

/// True when another span of another kind covers `start..end` and is longer.
fn contained(spans: &[(usize, usize, Kind)], start: usize, end: usize, kind: Kind) -> bool {
    spans.iter().any(|&(a, b, k)| k != kind && a <= start && end <= b && b - a > end - start)
}

/// Adds the short inner phrases that directly follow a phrase span of the same kind (banks
/// stack their phrasing: "ADDEBITO DIRETTO SDD", "PAGAMENTO POS"); a short word after a phrase
/// of another kind stays ("CARD PAYMENT TO BP" is the fuel brand).
fn chain_inner_phrases(spans: &mut Vec<(usize, usize, Kind)>, inner: &[(usize, usize, Kind)]) {
    loop {
        let before = spans.len();
        for &(start, end, kind) in inner {
            let follows = spans.iter().any(|&(_, b, k)| b == start && k == kind);
            if follows && !spans.contains(&(start, end, kind)) {
                spans.push((start, end, kind));
            }
        }
        if spans.len() == before {
            return;
        }
    }
}
