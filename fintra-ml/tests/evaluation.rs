//! The cascade measured on hand-written statement lines (`tests/data/statements_handwritten_*.jsonl`)
//! that no generator produced and that were written without the catalogue in view. Prints
//! primary-category (L1) and detailed accuracy, merchant resolution, the layers that decided
//! and the most frequent confusions. `cargo test -p fintra-ml --test evaluation -- --nocapture`.

#![allow(
    clippy::unwrap_used,
    clippy::print_stderr,
    clippy::cast_precision_loss,
    reason = "a test report"
)]

use std::collections::BTreeMap;

use std::sync::Arc;

use fintra_ml::descriptor::fold;
use fintra_ml::model::{Classifier, TrainOptions};
use fintra_ml::taxonomy::primary;
use fintra_ml::{Cascade, Catalogue, Transaction};

struct Line {
    text: String,
    amount_minor: i64,
    country: String,
    category: String,
    merchant: Option<String>,
}

fn minor(amount: &str) -> i64 {
    let negative = amount.starts_with('-');
    let digits = amount.trim_start_matches(['-', '+']);
    let (whole, frac) = digits.split_once('.').unwrap_or((digits, "0"));
    let frac = format!("{frac:0<2}");
    let value = whole.parse::<i64>().unwrap() * 100 + frac[..2].parse::<i64>().unwrap();
    if negative { -value } else { value }
}

fn lines(files: &[&str]) -> Vec<Line> {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data");
    let mut out = Vec::new();
    for name in files {
        let text =
            std::fs::read_to_string(dir.join(name)).unwrap_or_else(|e| panic!("{name}: {e}"));
        for line in text.lines().filter(|l| !l.trim().is_empty()) {
            let v: serde_json::Value = serde_json::from_str(line).unwrap();
            out.push(Line {
                text: v["text"].as_str().unwrap().to_owned(),
                amount_minor: minor(v["amount"].as_str().unwrap()),
                country: v["country"].as_str().unwrap_or_default().to_owned(),
                category: v["category"].as_str().unwrap().to_owned(),
                merchant: v["merchant"].as_str().map(str::to_owned),
            });
        }
    }
    out
}

fn key(name: &str) -> String {
    fold(name).chars().filter(char::is_ascii_alphanumeric).collect()
}

/// What one evaluation measured.
struct Report {
    lines: usize,
    l1: usize,
    detailed: usize,
    known: usize,
    known_right: usize,
    unknown: usize,
    unknown_right: usize,
    /// Lines labelled with no merchant where a public body was resolved (a tax office, a
    /// benefits agency, a council): the labelling guide does not say whether a public body is a
    /// merchant, and the hand-written sets differ. Counted wrong in `unknown_right`.
    public_bodies: usize,
}

fn pct(a: usize, b: usize) -> f64 {
    100.0 * a as f64 / b.max(1) as f64
}

impl Report {
    fn l1(&self) -> f64 {
        pct(self.l1, self.lines)
    }
    fn merchants(&self) -> f64 {
        pct(self.known_right + self.unknown_right, self.known + self.unknown)
    }
    /// Merchant resolution when a resolved public body on a line labelled with none counts
    /// right.
    fn merchants_public_either_way(&self) -> f64 {
        pct(self.known_right + self.unknown_right + self.public_bodies, self.known + self.unknown)
    }
}

/// A catalogue category that only public bodies have: taxes, fines, state services, benefits,
/// council tax.
fn public_body(category: &str) -> bool {
    (category.starts_with("government.") && category != "government.donations")
        || matches!(category, "income.benefits" | "bills.council_tax")
}

/// Every catalogue merchant's name and spellings, folded to letters and digits.
fn spellings(catalogue: &Catalogue) -> BTreeMap<String, Vec<String>> {
    catalogue
        .iter()
        .map(|m| {
            let mut k = vec![key(&m.name)];
            k.extend(m.aliases.iter().map(|a| key(a)));
            (m.id.clone(), k)
        })
        .collect()
}

/// A label names a catalogue merchant when the label and the merchant's name (or one of its
/// spellings), folded to letters and digits, are equal or one starts the other ("CVS" and
/// "CVS Pharmacy", "dm" and "dm-drogerie markt"). A resolution is right when it names such a
/// merchant.
fn names(keys: &BTreeMap<String, Vec<String>>, label: &str, id: &str) -> bool {
    let l = key(label);
    keys.get(id).is_some_and(|ks| {
        ks.iter().any(|k| {
            k == &l
                || (k.len().min(l.len()) >= 2 && (k.starts_with(&l) || l.starts_with(k.as_str())))
        })
    })
}

/// Runs the cascade over `files` and prints what it measured.
fn evaluate(files: &[&str], model: Option<Arc<dyn Classifier>>) -> Report {
    let catalogue = Catalogue::builtin().unwrap();
    let keys = spellings(&catalogue);
    let names = |label: &str, id: &str| names(&keys, label, id);
    let categories: BTreeMap<String, String> =
        catalogue.iter().map(|m| (m.id.clone(), m.category.clone())).collect();
    let cascade = Cascade::new(&catalogue);
    cascade.set_model(model);
    let lines = lines(files);
    let mut report = Report {
        lines: lines.len(),
        l1: 0,
        detailed: 0,
        known: 0,
        known_right: 0,
        unknown: 0,
        unknown_right: 0,
        public_bodies: 0,
    };
    let mut confusions: BTreeMap<(String, String), usize> = BTreeMap::new();
    let mut layers: BTreeMap<String, usize> = BTreeMap::new();
    let mut misses = Vec::new();
    for line in &lines {
        let r = cascade.categorise(&Transaction {
            description: &line.text,
            amount_minor: line.amount_minor,
            mcc: None,
            country: Some(&line.country),
            profile: None,
        });
        *layers.entry(format!("{:?}", r.lineage.layer)).or_default() += 1;
        report.detailed += usize::from(r.category == line.category);
        if primary(&r.category) == primary(&line.category) {
            report.l1 += 1;
        } else {
            *confusions
                .entry((primary(&line.category).to_owned(), primary(&r.category).to_owned()))
                .or_default() += 1;
            misses.push(format!("{:<45} want {:<28} got {}", line.text, line.category, r.category));
        }
        let got = r.lineage.merchant_id.as_deref();
        match line.merchant.as_deref().filter(|m| keys.keys().any(|id| names(m, id))) {
            Some(label) => {
                report.known += 1;
                if got.is_some_and(|id| names(label, id)) {
                    report.known_right += 1;
                } else {
                    misses.push(format!("{:<45} merchant want {label} got {got:?}", line.text));
                }
            }
            None => {
                report.unknown += 1;
                if got.is_none() {
                    report.unknown_right += 1;
                } else if got.and_then(|id| categories.get(id)).is_some_and(|c| public_body(c)) {
                    report.public_bodies += 1;
                    misses.push(format!(
                        "{:<45} merchant want none got public body {got:?}",
                        line.text
                    ));
                } else {
                    misses.push(format!("{:<45} merchant want none got {got:?}", line.text));
                }
            }
        }
    }
    eprintln!("{files:?}: {} lines; catalogue of {} merchants", lines.len(), catalogue.len());
    print_report(&report, &layers, confusions, &misses);
    report
}

fn print_report(
    report: &Report,
    layers: &BTreeMap<String, usize>,
    confusions: BTreeMap<(String, String), usize>,
    misses: &[String],
) {
    eprintln!(
        "category L1 top-1: {:.1} %   detailed: {:.1} %",
        report.l1(),
        pct(report.detailed, report.lines)
    );
    eprintln!(
        "merchant resolution: {:.1} % of {} lines whose merchant is in the catalogue; {:.1} % of {} others left unknown; overall {:.1} %",
        pct(report.known_right, report.known),
        report.known,
        pct(report.unknown_right, report.unknown),
        report.unknown,
        report.merchants()
    );
    eprintln!(
        "  ({} lines labelled with no merchant resolved a public body; counting those right: {:.1} %)",
        report.public_bodies,
        report.merchants_public_either_way()
    );
    eprintln!("deciding layers: {layers:?}");
    let mut pairs: Vec<_> = confusions.into_iter().collect();
    pairs.sort_by_key(|p| std::cmp::Reverse(p.1));
    eprintln!("most frequent L1 confusions (truth -> answer): {:?}", &pairs[..pairs.len().min(12)]);
    for miss in misses {
        eprintln!("  {miss}");
    }
}

#[test]
fn accuracy_on_hand_written_statement_lines() {
    let report =
        evaluate(&["statements_handwritten_a.jsonl", "statements_handwritten_b.jsonl"], None);
    assert!(report.lines >= 300, "the set has {} lines", report.lines);
    // Regression floors a little under the figures measured after two rounds of fixes that this
    // set guided (docs/brain.md). The held-out set below gives the honest figures.
    assert!(report.l1() >= 90.0, "L1 accuracy fell to {:.1} %", report.l1());
    assert!(report.merchants() >= 89.0, "merchant resolution fell to {:.1} %", report.merchants());
}

#[test]
fn accuracy_on_held_out_statement_lines() {
    // Written by a separate pass after the cascade's rules were fixed and measured once (83.0 %
    // L1, 85.5 % merchants); it then guided a third round of general fixes and now reads
    // optimistic (docs/brain.md). The floors sit a little under the figures after that round.
    held_out("statements_heldout.jsonl", 200, HELDOUT_L1, HELDOUT_MERCHANTS);
}

/// Evaluates one held-out file of at least `lines` lines against its floors.
fn held_out(file: &str, lines: usize, l1: f64, merchants: f64) {
    let report = evaluate(&[file], None);
    assert!(report.lines >= lines, "{file} has {} lines", report.lines);
    assert!(report.l1() >= l1, "{file}: L1 accuracy fell to {:.1} %", report.l1());
    assert!(
        report.merchants() >= merchants,
        "{file}: merchant resolution fell to {:.1} %",
        report.merchants()
    );
}

const HELDOUT_L1: f64 = 94.0;
const HELDOUT_MERCHANTS: f64 = 90.0;

#[test]
fn accuracy_on_the_second_held_out_set() {
    // Written by a fourth pass that saw only the taxonomy, before the third round of fixes;
    // run once, after it (85.3 % L1, 91.0 % merchants; docs/brain.md). It then guided the
    // fourth round and reads optimistic since; the floors sit under the first run.
    held_out("statements_heldout_2.jsonl", 300, HELDOUT_2_L1, HELDOUT_2_MERCHANTS);
}

#[test]
fn accuracy_on_the_third_held_out_set() {
    // Written by a fifth pass that saw only the taxonomy, while the second set guided the
    // fourth round of rules; run once, after it (86.3 % L1, 89.3 % merchants; docs/brain.md):
    // the honest figures. It then guided a fifth round and reads optimistic since; the floors
    // sit under the first run.
    held_out("statements_heldout_3.jsonl", 300, HELDOUT_3_L1, HELDOUT_3_MERCHANTS);
}

#[test]
fn accuracy_on_the_fourth_held_out_set() {
    // Written by three passes that saw only the taxonomy, committed before the first run, with
    // no rule changed in between: it measured round five (83.0 % L1, 88.0 % merchants;
    // docs/brain.md), then guided a small round six. The floors sit under the first run.
    held_out("statements_heldout_4.jsonl", 300, HELDOUT_4_L1, HELDOUT_4_MERCHANTS);
}

#[test]
fn accuracy_on_the_fifth_held_out_set() {
    // Written by three passes that saw only the taxonomy, committed before the first run, with
    // no rule changed in between: it measured round six (docs/brain.md). The floors sit under
    // the first run.
    held_out("statements_heldout_5.jsonl", 300, HELDOUT_5_L1, HELDOUT_5_MERCHANTS);
}

#[test]
fn accuracy_on_the_seventh_held_out_set() {
    // Written by a pass that saw only the taxonomy while round eight was made, committed before
    // the first run: it measured round eight (docs/brain.md). The floors sit under that run.
    held_out("statements_heldout_7.jsonl", 300, HELDOUT_7_L1, HELDOUT_7_MERCHANTS);
}

#[test]
fn accuracy_on_the_eighth_held_out_set() {
    // Written by three passes that saw only the taxonomy, committed unread before round nine
    // began: it measured round nine (docs/brain.md). The floors sit under that run.
    held_out("statements_heldout_8.jsonl", 300, HELDOUT_8_L1, HELDOUT_8_MERCHANTS);
}

#[test]
fn accuracy_on_the_ninth_held_out_set() {
    // Written by three passes that saw only the taxonomy, committed unread before round ten
    // began: it measured round ten (docs/brain.md). The floors sit under that run.
    held_out("statements_heldout_9.jsonl", 300, HELDOUT_9_L1, HELDOUT_9_MERCHANTS);
}

#[test]
fn accuracy_on_the_tenth_held_out_set() {
    // Written by three passes that saw only the taxonomy while round eleven was made, committed
    // unread before it: it measured round eleven (docs/brain.md). The floors sit under that run.
    held_out("statements_heldout_10.jsonl", 300, HELDOUT_10_L1, HELDOUT_10_MERCHANTS);
}

#[test]
fn accuracy_on_the_eleventh_held_out_set() {
    // Written by three passes that saw only the taxonomy after round twelve, committed unread
    // before that round's review: it measured round twelve as reviewed (docs/brain.md). The
    // floors sit under that run.
    held_out("statements_heldout_11.jsonl", 300, HELDOUT_11_L1, HELDOUT_11_MERCHANTS);
}

#[test]
fn accuracy_on_the_twelfth_held_out_set() {
    // Written by three passes that saw only the taxonomy while round thirteen was made,
    // committed unread before it: it measured round thirteen (docs/brain.md). The floors sit
    // under that run.
    held_out("statements_heldout_12.jsonl", 300, HELDOUT_12_L1, HELDOUT_12_MERCHANTS);
}

#[test]
fn accuracy_on_the_thirteenth_held_out_set() {
    // Written by three passes that saw only the taxonomy, imitating banks mostly not named
    // before, committed unread before round fourteen: it measured round fourteen
    // (docs/brain.md). The floors sit under that run.
    held_out("statements_heldout_13.jsonl", 300, HELDOUT_13_L1, HELDOUT_13_MERCHANTS);
}

#[test]
fn accuracy_on_the_fourteenth_held_out_set() {
    // Written by three passes that saw only the taxonomy while round fifteen was made (a third
    // of the lines as CSV rows), committed unread before its first run: it measured round
    // fifteen (docs/brain.md). The floors sit under that run.
    held_out("statements_heldout_14.jsonl", 300, HELDOUT_14_L1, HELDOUT_14_MERCHANTS);
}

#[test]
fn accuracy_on_the_fifteenth_held_out_set() {
    // Written by three passes that saw only the taxonomy while round sixteen was made (a third
    // of the lines as CSV rows), committed unread before its first run: it measured round
    // sixteen (docs/brain.md). The floors sit under that run.
    held_out("statements_heldout_15.jsonl", 300, HELDOUT_15_L1, HELDOUT_15_MERCHANTS);
}

#[test]
fn accuracy_on_the_sixteenth_held_out_set() {
    // Written by three passes that saw only the taxonomy while round seventeen was made (a
    // third of the lines as CSV rows), committed unread before its first run: it measured
    // round seventeen (docs/brain.md). The floors sit under that run.
    held_out("statements_heldout_16.jsonl", 300, HELDOUT_16_L1, HELDOUT_16_MERCHANTS);
}

#[test]
fn accuracy_on_the_seventeenth_held_out_set() {
    // Written by three passes that saw only the taxonomy while round eighteen was made (a
    // third of the lines as CSV rows), committed unread before its first run: it measured
    // round eighteen (docs/brain.md). The floors sit under that run.
    held_out("statements_heldout_17.jsonl", 300, HELDOUT_17_L1, HELDOUT_17_MERCHANTS);
}

#[test]
fn accuracy_on_the_eighteenth_held_out_set() {
    // Written by three passes that saw only the taxonomy while round nineteen was made (a
    // third of the lines as CSV rows), committed unread before its first run: it measured
    // round nineteen (docs/brain.md). The floors sit under that run.
    held_out("statements_heldout_18.jsonl", 300, HELDOUT_18_L1, HELDOUT_18_MERCHANTS);
}

#[test]
fn accuracy_on_the_nineteenth_held_out_set() {
    // Written by three passes that saw only the taxonomy while round twenty was made (a
    // third of the lines as CSV rows), committed unread before its first run: it measured
    // round twenty (docs/brain.md). The floors sit under that run.
    held_out("statements_heldout_19.jsonl", 300, HELDOUT_19_L1, HELDOUT_19_MERCHANTS);
}

#[test]
fn accuracy_on_the_twentieth_held_out_set() {
    // Written by three passes that saw only the taxonomy while round twenty-one was made (a
    // third of the lines as CSV rows), committed unread before its first run: it measured
    // round twenty-one (docs/brain.md). The floors sit under that run.
    held_out("statements_heldout_20.jsonl", 300, HELDOUT_20_L1, HELDOUT_20_MERCHANTS);
}

const HELDOUT_20_L1: f64 = 84.0;
const HELDOUT_20_MERCHANTS: f64 = 89.0;

const HELDOUT_19_L1: f64 = 85.0;
const HELDOUT_19_MERCHANTS: f64 = 87.0;

const HELDOUT_18_L1: f64 = 87.0;
const HELDOUT_18_MERCHANTS: f64 = 89.0;

const HELDOUT_17_L1: f64 = 82.0;
const HELDOUT_17_MERCHANTS: f64 = 88.0;

const HELDOUT_16_L1: f64 = 85.0;
const HELDOUT_16_MERCHANTS: f64 = 89.0;

const HELDOUT_15_L1: f64 = 85.0;
const HELDOUT_15_MERCHANTS: f64 = 87.0;

const HELDOUT_14_L1: f64 = 83.0;
const HELDOUT_14_MERCHANTS: f64 = 87.0;

const HELDOUT_13_L1: f64 = 84.0;
const HELDOUT_13_MERCHANTS: f64 = 89.0;

const HELDOUT_12_L1: f64 = 82.0;
const HELDOUT_12_MERCHANTS: f64 = 89.0;

const HELDOUT_11_L1: f64 = 84.0;
const HELDOUT_11_MERCHANTS: f64 = 87.0;

const HELDOUT_10_L1: f64 = 80.0;
const HELDOUT_10_MERCHANTS: f64 = 87.0;

const HELDOUT_9_L1: f64 = 83.0;
const HELDOUT_9_MERCHANTS: f64 = 86.0;

const HELDOUT_8_L1: f64 = 86.0;
const HELDOUT_8_MERCHANTS: f64 = 88.0;

const HELDOUT_7_L1: f64 = 82.0;
const HELDOUT_7_MERCHANTS: f64 = 88.0;

#[test]
fn accuracy_on_the_sixth_held_out_set() {
    // Written by three passes that saw only the taxonomy, committed before the first run, with
    // no rule changed in between: it measured round seven (docs/brain.md). The floors sit under
    // the first run.
    held_out("statements_heldout_6.jsonl", 300, HELDOUT_6_L1, HELDOUT_6_MERCHANTS);
}

const HELDOUT_6_L1: f64 = 80.0;
const HELDOUT_6_MERCHANTS: f64 = 87.0;

const HELDOUT_5_L1: f64 = 76.0;
const HELDOUT_5_MERCHANTS: f64 = 92.0;

const HELDOUT_4_L1: f64 = 81.0;
const HELDOUT_4_MERCHANTS: f64 = 86.0;

const HELDOUT_3_L1: f64 = 84.0;
const HELDOUT_3_MERCHANTS: f64 = 87.0;

const HELDOUT_2_L1: f64 = 83.0;
const HELDOUT_2_MERCHANTS: f64 = 89.0;

/// Lines the model is trained on in the test (the benchmark trains on 1,000,000).
const TRAIN_LINES: usize = 200_000;

#[test]
fn the_model_layer_on_held_out_statement_lines() {
    let catalogue = Catalogue::builtin().unwrap();
    let started = std::time::Instant::now();
    let lines = std::env::var("FINTRA_ML_TRAIN_LINES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(TRAIN_LINES);
    let model = fintra_ml::model::train_generated(&catalogue, lines, 11, TrainOptions::default());
    eprintln!("trained on {lines} generated lines in {:.1?}: {:?}", started.elapsed(), model.card);
    let without = evaluate(&["statements_heldout.jsonl"], None);
    let with = evaluate(&["statements_heldout.jsonl"], Some(Arc::new(model)));
    eprintln!("held-out L1 without the model {:.1} %, with it {:.1} %", without.l1(), with.l1());
    // The model only speaks where the rules had nothing, above MODEL_THRESHOLD (chosen before
    // this set was run): it must not make the cascade worse on lines no generator wrote.
    assert!(with.l1() >= without.l1(), "the model lowered L1 accuracy");
    assert!(with.merchants() >= without.merchants(), "the model changed merchant resolution");
}

#[test]
fn accuracy_on_the_twenty_first_held_out_set() {
    // Written by three passes that saw only the taxonomy while round twenty-two was made (a
    // third of the lines as CSV rows), committed unread before its first run: it measured
    // round twenty-two (docs/brain.md). The floors sit under that run.
    held_out("statements_heldout_21.jsonl", 300, HELDOUT_21_L1, HELDOUT_21_MERCHANTS);
}
const HELDOUT_21_L1: f64 = 87.0;
const HELDOUT_21_MERCHANTS: f64 = 88.0;

#[test]
fn accuracy_on_the_twenty_second_held_out_set() {
    // Written by three passes that saw only the taxonomy while round twenty-three was made (a
    // third of the lines as CSV rows, as many independents as chains), committed unread before
    // its first run: it measured round twenty-three (docs/brain.md). The floors sit under that
    // run.
    held_out("statements_heldout_22.jsonl", 300, HELDOUT_22_L1, HELDOUT_22_MERCHANTS);
}
const HELDOUT_22_L1: f64 = 78.0;
const HELDOUT_22_MERCHANTS: f64 = 86.0;

#[test]
fn accuracy_on_the_twenty_third_held_out_set() {
    // Written by three passes that saw only the taxonomy while round twenty-four was made (a
    // third of the lines as CSV rows, as many independents as chains), committed unread before
    // its first run: it measured round twenty-four (docs/brain.md). The floors sit under that
    // run.
    held_out("statements_heldout_23.jsonl", 300, HELDOUT_23_L1, HELDOUT_23_MERCHANTS);
}
const HELDOUT_23_L1: f64 = 84.0;
const HELDOUT_23_MERCHANTS: f64 = 88.0;
