//! Precision and recall of the PII redactor per entity type, on three labelled sets:
//! - `tests/data/pii_heldout.jsonl`: 239 lines written by a separate pass that saw neither the
//!   redactor nor the other sets; measured once, never used to change a rule — the honest figure;
//! - `tests/data/pii_handwritten.jsonl`: 349 hand-written lines (statement lines, support chats,
//!   agent notes, logs), 146 of them hard negatives; written apart from the redactor's code;
//! - 2,400 lines generated here from templates with valid and near-miss identifiers (a check of
//!   the detectors' rules, not of how they meet real text).
//!
//! A finding counts when it overlaps a labelled entity of the same type. The tables are printed
//! (`cargo test -p fintra-guard --test redaction -- --nocapture`) and quoted in docs/guard.md.

#![allow(clippy::unwrap_used, reason = "test helpers fail the test on a setup error")]

use std::collections::BTreeMap;

use fintra_guard::redact::{PiiKind, find, redact};

struct Labelled {
    text: String,
    entities: Vec<(PiiKind, usize, usize)>,
}

fn spans(text: &str, entities: &[(PiiKind, String)]) -> Vec<(PiiKind, usize, usize)> {
    let mut from: BTreeMap<String, usize> = BTreeMap::new();
    entities
        .iter()
        .map(|(kind, value)| {
            let after = from.get(value).copied().unwrap_or(0);
            let start = text[after..]
                .find(value.as_str())
                .map(|i| i + after)
                .unwrap_or_else(|| panic!("{value:?} not in {text:?}"));
            from.insert(value.clone(), start + value.len());
            (*kind, start, start + value.len())
        })
        .collect()
}

fn handwritten() -> Vec<Labelled> {
    labelled_file("pii_handwritten.jsonl")
}

fn labelled_file(name: &str) -> Vec<Labelled> {
    let file = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data").join(name);
    std::fs::read_to_string(&file)
        .unwrap()
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(|line| {
            let v: serde_json::Value = serde_json::from_str(line).unwrap();
            let text = v["text"].as_str().unwrap().to_owned();
            let entities: Vec<(PiiKind, String)> = v["entities"]
                .as_array()
                .unwrap()
                .iter()
                .map(|e| {
                    (
                        PiiKind::from_label(e["type"].as_str().unwrap()).unwrap(),
                        e["value"].as_str().unwrap().to_owned(),
                    )
                })
                .collect();
            let entities = spans(&text, &entities);
            Labelled { text, entities }
        })
        .collect()
}

/// xorshift64*: deterministic, no dependency.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
    fn digits(&mut self, n: usize) -> String {
        (0..n).map(|_| char::from(b'0' + u8::try_from(self.below(10)).unwrap())).collect()
    }
    fn pick<'a>(&mut self, items: &[&'a str]) -> &'a str {
        items[usize::try_from(self.below(items.len() as u64)).unwrap()]
    }
}

fn luhn_digit(body: &str) -> char {
    let sum: u32 = body
        .bytes()
        .rev()
        .enumerate()
        .map(|(i, d)| {
            let v = u32::from(d - b'0');
            if i % 2 == 0 { if v * 2 > 9 { v * 2 - 9 } else { v * 2 } } else { v }
        })
        .sum();
    char::from(b'0' + u8::try_from((10 - sum % 10) % 10).unwrap())
}

fn card(rng: &mut Rng, valid: bool) -> String {
    let prefix = rng.pick(&["4", "51", "55", "37", "6011"]);
    let len = if prefix == "37" { 15 } else { 16 };
    let body = format!("{prefix}{}", rng.digits(len - 1 - prefix.len()));
    let check = luhn_digit(&body);
    let check = if valid { check } else { char::from(b'0' + (check as u8 - b'0' + 1) % 10) };
    let n = format!("{body}{check}");
    if rng.below(2) == 0 {
        n.as_bytes()
            .chunks(4)
            .map(|c| std::str::from_utf8(c).unwrap())
            .collect::<Vec<_>>()
            .join(" ")
    } else {
        n
    }
}

fn iban(rng: &mut Rng, valid: bool) -> String {
    let (country, bban) = match rng.below(3) {
        0 => ("GB", format!("{}{}", rng.pick(&["NWBK", "BARC", "LOYD", "HBUK"]), rng.digits(14))),
        1 => ("DE", rng.digits(18)),
        _ => ("NL", format!("{}{}", rng.pick(&["ABNA", "INGB", "RABO"]), rng.digits(10))),
    };
    let numeric: String = format!("{bban}{country}00")
        .chars()
        .map(|c| {
            if c.is_ascii_digit() {
                c.to_string()
            } else {
                (u32::from(c as u8 - b'A') + 10).to_string()
            }
        })
        .collect();
    let rem = numeric.bytes().fold(0u32, |r, d| (r * 10 + u32::from(d - b'0')) % 97);
    let check = 98 - rem;
    let check = if valid { check } else { (check % 97) + 1 };
    let compact = format!("{country}{check:02}{bban}");
    if rng.below(2) == 0 {
        compact
            .as_bytes()
            .chunks(4)
            .map(|c| std::str::from_utf8(c).unwrap())
            .collect::<Vec<_>>()
            .join(" ")
    } else {
        compact
    }
}

fn aba(rng: &mut Rng, valid: bool) -> String {
    let body = rng.digits(8);
    let w = [3u32, 7, 1, 3, 7, 1, 3, 7];
    let sum: u32 = body.bytes().zip(w).map(|(d, w)| u32::from(d - b'0') * w).sum();
    let check = (10 - sum % 10) % 10;
    let check = if valid { check } else { (check + 1) % 10 };
    format!("{body}{check}")
}

const NAMES: [&str; 7] =
    ["J SMITH", "A JONES", "MARY TAYLOR", "P O'NEILL", "Sarah Connor", "K PATEL", "DAVID EVANS"];
const MERCHANTS: [&str; 5] =
    ["TESCO STORES 3021", "AMAZON MKTPLACE", "TFL TRAVEL CH", "SHELL 5532", "NETFLIX.COM"];
const POSTCODES: [&str; 7] =
    ["SW1A 1AA", "EC1A 1BB", "M1 1AE", "B33 8TH", "CR2 6XH", "LS1 4DY", "G2 3AH"];

/// Records `value` as an entity of `kind` and returns it for the text.
fn tag(entities: &mut Vec<(PiiKind, String)>, kind: PiiKind, value: String) -> String {
    entities.push((kind, value.clone()));
    value
}

/// Line `i` of the families with bank identifiers.
fn banking_line(i: u64, rng: &mut Rng, e: &mut Vec<(PiiKind, String)>) -> String {
    match i % 6 {
        0 => format!(
            "FPO TO {} REF {}",
            tag(e, PiiKind::Name, rng.pick(&NAMES).to_owned()),
            rng.digits(6)
        ),
        1 => {
            format!("CARD {} POS {}", tag(e, PiiKind::Card, card(rng, true)), rng.pick(&MERCHANTS))
        }
        2 => format!("SEPA CT {} {}", tag(e, PiiKind::Iban, iban(rng, true)), rng.pick(&MERCHANTS)),
        3 => {
            let sort_code = format!("{}-{}-{}", rng.digits(2), rng.digits(2), rng.digits(2));
            let sort_code = tag(e, PiiKind::SortCode, sort_code);
            format!(
                "please pay sort code {sort_code} account {}",
                tag(e, PiiKind::AccountNumber, rng.digits(8))
            )
        }
        4 => format!(
            "wire to routing {} acct 000{}",
            tag(e, PiiKind::UsRouting, aba(rng, true)),
            rng.digits(7)
        ),
        _ => format!(
            "REF {} paid {}.{} on 2025-0{}-1{}",
            card(rng, false).replace(' ', ""),
            rng.below(5000),
            rng.digits(2),
            1 + rng.below(9),
            rng.below(9)
        ),
    }
}

/// Line `i` of the families with contact and national identifiers.
fn personal_line(i: u64, rng: &mut Rng, e: &mut Vec<(PiiKind, String)>) -> String {
    match i % 6 {
        0 => {
            let email = tag(e, PiiKind::Email, format!("user{}@example.co.uk", rng.digits(3)));
            format!(
                "contact {email} or {}",
                tag(e, PiiKind::Phone, format!("07700 9{}", rng.digits(5)))
            )
        }
        1 => format!(
            "ship to 12 High Street, London {}",
            tag(e, PiiKind::UkPostcode, rng.pick(&POSTCODES).to_owned())
        ),
        2 => {
            let ni = format!(
                "{} {} {} {} {}",
                rng.pick(&["AB", "JK", "CE", "PR", "TW"]),
                rng.digits(2),
                rng.digits(2),
                rng.digits(2),
                rng.pick(&["A", "B", "C", "D"])
            );
            format!("NI number {} on file", tag(e, PiiKind::NiNumber, ni))
        }
        3 => {
            let ssn = format!(
                "{}-{}-{}",
                100 + rng.below(500),
                10 + rng.below(89),
                1000 + rng.below(8999)
            );
            format!("SSN {} verified", tag(e, PiiKind::Ssn, ssn))
        }
        4 => {
            let phone = format!("+44 20 7946 {}", rng.digits(4));
            format!("call {} about {}", tag(e, PiiKind::Phone, phone), rng.pick(&MERCHANTS))
        }
        _ => {
            format!("order {} IBAN {} routing {}", rng.digits(9), iban(rng, false), aba(rng, false))
        }
    }
}

/// 2,400 lines from templates: half bank identifiers, half contact and national ones, a third
/// of each family near-miss negatives.
fn generated() -> Vec<Labelled> {
    let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
    (0..2_400u64)
        .map(|i| {
            let mut entities = Vec::new();
            let text = if i % 2 == 0 {
                banking_line(i / 2, &mut rng, &mut entities)
            } else {
                personal_line(i / 2, &mut rng, &mut entities)
            };
            let entities = spans(&text, &entities);
            Labelled { text, entities }
        })
        .collect()
}

#[derive(Default, Clone, Copy)]
struct Counts {
    tp: u32,
    fp: u32,
    fn_: u32,
}

fn score(set: &[Labelled]) -> BTreeMap<PiiKind, Counts> {
    let mut counts: BTreeMap<PiiKind, Counts> =
        PiiKind::ALL.iter().map(|k| (*k, Counts::default())).collect();
    for item in set {
        let found = find(&item.text);
        let overlaps = |kind: PiiKind, s: usize, e: usize, f: &fintra_guard::redact::Finding| {
            f.kind == kind && f.start < e && s < f.end
        };
        for &(kind, s, e) in &item.entities {
            let c = counts.get_mut(&kind).unwrap();
            if found.iter().any(|f| overlaps(kind, s, e, f)) { c.tp += 1 } else { c.fn_ += 1 }
        }
        for f in &found {
            if !item.entities.iter().any(|&(kind, s, e)| overlaps(kind, s, e, f)) {
                counts.get_mut(&f.kind).unwrap().fp += 1;
            }
        }
    }
    counts
}

fn ratio(num: u32, den: u32) -> f64 {
    if den == 0 { 1.0 } else { f64::from(num) / f64::from(den) }
}

#[allow(clippy::print_stdout, reason = "the measured tables are the test's report")]
fn report(name: &str, counts: &BTreeMap<PiiKind, Counts>) {
    println!(
        "\n{name}\n| type | labelled | found right | false positives | precision | recall |\n|---|---:|---:|---:|---:|---:|"
    );
    for (kind, c) in counts {
        println!(
            "| {} | {} | {} | {} | {:.3} | {:.3} |",
            kind.label(),
            c.tp + c.fn_,
            c.tp,
            c.fp,
            ratio(c.tp, c.tp + c.fp),
            ratio(c.tp, c.tp + c.fn_)
        );
    }
}

#[test]
fn precision_and_recall_on_the_hand_written_set() {
    let set = handwritten();
    assert!(set.len() >= 200, "{} lines", set.len());
    let counts = score(&set);
    report("hand-written set", &counts);
    let (tp, fp, fn_) =
        counts.values().fold((0, 0, 0), |a, c| (a.0 + c.tp, a.1 + c.fp, a.2 + c.fn_));
    println!("all types: precision {:.3}, recall {:.3}", ratio(tp, tp + fp), ratio(tp, tp + fn_));
    // Floors a little under what was measured (docs/guard.md): a change that loses ground fails.
    assert!(ratio(tp, tp + fp) >= 0.90, "overall precision {:.3}", ratio(tp, tp + fp));
    assert!(ratio(tp, tp + fn_) >= 0.85, "overall recall {:.3}", ratio(tp, tp + fn_));
    for kind in [PiiKind::Card, PiiKind::Iban, PiiKind::Email, PiiKind::Ssn] {
        let c = counts[&kind];
        assert!(ratio(c.tp, c.tp + c.fp) >= 0.95 && ratio(c.tp, c.tp + c.fn_) >= 0.95, "{kind:?}");
    }
}

/// The held-out set: written by a separate pass that never saw the redactor or the first set,
/// measured once and never used to change a rule. Its numbers are the ones to quote.
#[test]
fn precision_and_recall_on_the_held_out_set() {
    let set = labelled_file("pii_heldout.jsonl");
    assert!(set.len() >= 200, "{} lines", set.len());
    let counts = score(&set);
    report("held-out set", &counts);
    let (tp, fp, fn_) =
        counts.values().fold((0, 0, 0), |a, c| (a.0 + c.tp, a.1 + c.fp, a.2 + c.fn_));
    println!("all types: precision {:.3}, recall {:.3}", ratio(tp, tp + fp), ratio(tp, tp + fn_));
    // Measured once (docs/guard.md): precision 0.958, recall 0.848. Floors just under it.
    assert!(ratio(tp, tp + fp) >= 0.95, "held-out precision {:.3}", ratio(tp, tp + fp));
    assert!(ratio(tp, tp + fn_) >= 0.84, "held-out recall {:.3}", ratio(tp, tp + fn_));
}

#[test]
fn precision_and_recall_on_the_generated_set() {
    let set = generated();
    assert!(set.len() >= 2_000);
    let counts = score(&set);
    report("generated set", &counts);
    for (kind, c) in &counts {
        assert!(ratio(c.tp, c.tp + c.fp) >= 0.97, "{kind:?} precision");
        assert!(ratio(c.tp, c.tp + c.fn_) >= 0.97, "{kind:?} recall");
    }
}

#[test]
fn redaction_is_reversible_on_every_labelled_line() {
    for item in handwritten().iter().chain(generated().iter().take(400)) {
        let r = redact(&item.text);
        assert_eq!(r.restore(&r.text), item.text);
    }
}
