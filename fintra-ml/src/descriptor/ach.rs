//! US ACH lines: the originating company, its entry description and the holder's own name, in
//! the fields banks print ("DES:", "INDN:", "CO ID:", "PPD ID:", Chase's "ORIG CO NAME:").

use super::{Kind, is_code, words_of};

/// The fields of a US ACH line: "GUSTO DES:PAY ID:7XK2L INDN:MORALES ANA CO ID:91388 CCD", or
/// Chase's "ORIG CO NAME:GUSTO ORIG ID:91388 DESC DATE:0412 CO ENTRY DESCR:PAYROLL SEC:PPD …",
/// or a bare "NYS DOL UI DD 0000123456 PPD ID: 9146000001".
pub(super) struct Ach {
    /// The word indexes of the originating company's name.
    pub(super) name: std::ops::Range<usize>,
    /// The company's entry description says it pays wages ("PAY", "PAYROLL", "DIR DEP").
    pays_wages: bool,
}

impl Ach {
    /// The line's kind: wages when the entry says so, a debit (or credit) from a company
    /// where the bank's phrasing says nothing else.
    pub(super) fn kind(&self, kind: Kind) -> Kind {
        match kind {
            Kind::Unknown | Kind::DirectDebit | Kind::Transfer if self.pays_wages => Kind::Salary,
            Kind::Unknown => Kind::DirectDebit,
            kind => kind,
        }
    }
}

/// Words of an ACH entry description that say it pays wages wherever they stand in it.
const WAGE_ENTRIES: &[&str] = &["PAYROLL", "PAYRLL", "DIRDEP", "DIRDEPOSIT", "SALARY", "WAGES"];

/// Words before a closing `PAY` that make it a payment, not wages ("DES:LOAN PAY", "AUTO PAY").
const NOT_WAGES: &[&str] = &["AUTO", "BILL", "LOAN", "CARD", "MTG", "ONLINE", "WEB", "EPAY"];

/// The labels that end an ACH entry description.
const ACH_LABELS: &[&str] = &["ID", "INDN", "CO", "ORIG", "SEC", "TRACE", "EED", "IND", "DESC"];

/// An entry description (its words up to the next label, codes left out) says it pays wages:
/// a payroll word, `DIR DEP`, or `PAY` alone or as `NET PAY`.
fn pays_wages(entry: &[&String]) -> bool {
    let entry: Vec<&str> = entry.iter().map(|w| w.as_str()).filter(|w| !is_code(w)).collect();
    entry.iter().any(|w| WAGE_ENTRIES.contains(w))
        || entry.windows(2).any(|w| w == ["DIR", "DEP"])
        || matches!(entry.as_slice(), ["PAY"] | ["NET", "PAY"])
}

/// The word index of the `DES` that opens the entry description field (`DES:`), not a `DES` of
/// the company's name ("CITY OF DES MOINES DES:UTILITY").
fn des_field(folded: &str) -> Option<usize> {
    let at = folded
        .match_indices("DES:")
        .map(|(i, _)| i)
        .find(|&i| folded[..i].chars().next_back().is_none_or(|c| !c.is_ascii_alphanumeric()))?;
    Some(words_of(&folded[..at]).len())
}

/// The ACH fields of a line, if it has them.
pub(super) fn ach_fields(folded: &str, words: &[String]) -> Option<Ach> {
    let entry_from = |from: usize| -> Vec<&String> {
        words[from.min(words.len())..]
            .iter()
            .take_while(|w| !ACH_LABELS.contains(&w.as_str()))
            .collect()
    };
    if folded.starts_with("ORIG CO NAME") && words.len() > 3 {
        let end = (3..words.len()).find(|&i| words[i] == "ORIG").unwrap_or(words.len());
        let descr = (0..words.len().saturating_sub(2))
            .find(|&i| words[i] == "ENTRY" && words[i + 1] == "DESCR")
            .map(|i| i + 2);
        let pays_wages = descr.is_some_and(|from| pays_wages(&entry_from(from)));
        return Some(Ach { name: 3..end, pays_wages });
    }
    if let Some(des) = des_field(folded).filter(|&i| i > 0 && words.get(i).is_some()) {
        return Some(Ach { name: 0..des, pays_wages: pays_wages(&entry_from(des + 1)) });
    }
    // A standard entry class code and its company id close the line.
    let sec = (1..words.len().saturating_sub(1)).find(|&i| {
        matches!(words[i].as_str(), "PPD" | "CCD" | "WEB" | "TEL") && words[i + 1] == "ID"
    })?;
    // "GUSTO PAY 123456 PPD ID: …": the entry description runs into the name, so only its
    // closing word can say wages.
    let named: Vec<&str> =
        words[1..sec].iter().map(String::as_str).filter(|w| !is_code(w)).collect();
    let pays_wages = named.iter().any(|w| WAGE_ENTRIES.contains(w))
        || matches!(named.as_slice(), [.., before, "PAY"] if !NOT_WAGES.contains(before))
        || named == ["PAY"];
    Some(Ach { name: 0..sec, pays_wages })
}
