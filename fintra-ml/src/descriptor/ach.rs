//! US ACH lines: the originating company, its entry description and the holder's own name, in
//! the fields banks print ("DES:", "INDN:", "CO ID:", "PPD ID:", Chase's "ORIG CO NAME:").

use super::Kind;

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

/// Words of an ACH entry description that say it pays wages.
const WAGE_ENTRIES: &[&str] =
    &["PAY", "PAYROLL", "PAYRLL", "DIRDEP", "DIRDEPOSIT", "SALARY", "WAGES"];

/// The labels that end an ACH entry description.
const ACH_LABELS: &[&str] = &["ID", "INDN", "CO", "ORIG", "SEC", "TRACE", "EED", "IND", "DESC"];

/// The ACH fields of a line, if it has them.
pub(super) fn ach_fields(folded: &str, words: &[String]) -> Option<Ach> {
    let at = |label: &str| words.iter().position(|w| w == label);
    let entry = |from: usize| {
        words[from..]
            .iter()
            .take_while(|w| !ACH_LABELS.contains(&w.as_str()))
            .any(|w| WAGE_ENTRIES.contains(&w.as_str()))
            || (words.len() > from + 1 && words[from] == "DIR" && words[from + 1] == "DEP")
    };
    if folded.starts_with("ORIG CO NAME") && words.len() > 3 {
        let end = (3..words.len()).find(|&i| words[i] == "ORIG").unwrap_or(words.len());
        let descr = (0..words.len().saturating_sub(2))
            .find(|&i| words[i] == "ENTRY" && words[i + 1] == "DESCR")
            .map(|i| i + 2);
        return Some(Ach { name: 3..end, pays_wages: descr.is_some_and(entry) });
    }
    if folded.contains("DES:")
        && let Some(des) = at("DES").filter(|&i| i > 0)
    {
        return Some(Ach { name: 0..des, pays_wages: entry(des + 1) });
    }
    // A standard entry class code and its company id close the line.
    let sec = (1..words.len().saturating_sub(1)).find(|&i| {
        matches!(words[i].as_str(), "PPD" | "CCD" | "WEB" | "TEL") && words[i + 1] == "ID"
    })?;
    // "GUSTO PAY 123456 PPD ID: …": the entry description runs into the name.
    let pays_wages = words[1..sec].iter().any(|w| WAGE_ENTRIES.contains(&w.as_str()));
    Some(Ach { name: 0..sec, pays_wages })
}
