//! Writing transactions as CSV that a spreadsheet can open safely.

use crate::fos::UnifiedTransaction;

/// Characters a spreadsheet reads as the start of a formula (or, for tab and carriage return,
/// as a way to smuggle one past a check on the first character).
const FORMULA_START: [char; 6] = ['=', '+', '-', '@', '\t', '\r'];

/// A text cell a spreadsheet shows as text: one starting with a formula character gets a leading
/// `'`. Amounts are written as numbers and never pass through here.
fn neutralised(cell: &str) -> String {
    if cell.starts_with(FORMULA_START) { format!("'{cell}") } else { cell.to_owned() }
}

/// `transactions` as CSV (`date,transaction_id,account_id,description,amount,currency,status`),
/// amounts in major units with the currency's decimals, text cells neutralised against formula
/// injection (OWASP "CSV injection"): a description such as `=HYPERLINK(...)` is written as
/// `'=HYPERLINK(...)`.
///
/// ```
/// use fintra_twin::connect::csv::export;
/// assert_eq!(export(&[]), "date,transaction_id,account_id,description,amount,currency,status\n");
/// ```
pub fn export(transactions: &[UnifiedTransaction]) -> String {
    let mut writer = csv::WriterBuilder::new().from_writer(Vec::new());
    let header =
        ["date", "transaction_id", "account_id", "description", "amount", "currency", "status"];
    // Writing to a Vec cannot fail; a failure would be a bug in `csv`, so it panics loudly.
    writer.write_record(header).expect("writing CSV to memory");
    for t in transactions {
        let money = fintra_core::Money::new(t.amount_minor, t.currency).to_string();
        let amount = money.split_once(' ').map_or(money.as_str(), |(amount, _)| amount).to_owned();
        let record = [
            t.date.to_string(),
            neutralised(&t.transaction_id),
            neutralised(&t.account_id),
            neutralised(&t.description),
            amount,
            t.currency.to_string(),
            format!("{:?}", t.status).to_lowercase(),
        ];
        writer.write_record(&record).expect("writing CSV to memory");
    }
    let bytes = writer.into_inner().expect("flushing CSV to memory");
    String::from_utf8(bytes).expect("CSV of UTF-8 strings is UTF-8")
}

#[cfg(test)]
mod tests {
    use super::neutralised;

    #[test]
    fn formula_characters_are_neutralised() {
        for cell in ["=1+1", "+44 Telecom", "-2", "@SUM(A1)", "\t=1", "\r=1"] {
            assert!(neutralised(cell).starts_with('\''), "{cell:?}");
        }
        assert_eq!(neutralised("Tesco Stores"), "Tesco Stores");
    }
}
