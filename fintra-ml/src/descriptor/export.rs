//! Rows of well-known CSV exports whose columns are known. A row pasted whole into a
//! description would have its account, dates, state and balance read as words ("Current" as a
//! brand); the row is narrowed to its type and description before it is parsed.

/// Revolut's transaction types (`Type` column).
const REVOLUT_TYPES: &[&str] = &[
    "CARD_PAYMENT",
    "CARD_REFUND",
    "TRANSFER",
    "TOPUP",
    "EXCHANGE",
    "ATM",
    "FEE",
    "REFUND",
    "CASHBACK",
    "REWARD",
    "INTEREST",
];

/// Revolut's products (`Product` column).
const REVOLUT_PRODUCTS: &[&str] = &["CURRENT", "SAVINGS", "DEPOSIT", "POCKET"];

/// The type and description of a known export's row, or `None` for any other text.
///
/// Revolut: `Type,Product,Started Date,Completed Date,Description,Amount,Fee,Currency,State,
/// Balance` (the description may itself hold commas: the five closing columns are counted
/// from the end).
pub(super) fn known_row(raw: &str) -> Option<String> {
    let fields: Vec<&str> = raw.split(',').map(str::trim).collect();
    revolut(&fields).or_else(|| card_export(&fields))
}

/// A date at the start of a column ("2024-03-17 23:58:41", "03/15/2024").
fn dated(field: &str) -> bool {
    let b = field.as_bytes();
    b.len() >= 8
        && b.iter().take(10).all(|c| c.is_ascii_digit() || matches!(c, b'-' | b'/' | b'.'))
        && b.iter().take(4).filter(|c| c.is_ascii_digit()).count() >= 2
}

/// Revolut: `Type,Product,Started Date,Completed Date,Description,Amount,Fee,Currency,State,
/// Balance`.
fn revolut(fields: &[&str]) -> Option<String> {
    if fields.len() < 10 {
        return None;
    }
    let kind = fields[0].to_ascii_uppercase();
    let product = fields[1].to_ascii_uppercase();
    if !REVOLUT_TYPES.contains(&kind.as_str())
        || !REVOLUT_PRODUCTS.contains(&product.as_str())
        || !dated(fields[2])
    {
        return None;
    }
    let description = fields[4..fields.len() - 5].join(",");
    Some(format!("{} {description}", kind.replace('_', " ")))
}

/// US card issuers' downloads, whose category column is the issuer's own guess:
/// Chase (`Transaction Date,Post Date,Description,Category,Type,Amount,Memo`, the type `Sale`,
/// `Return`, `Payment`, `Fee` or `Adjustment`) and Capital One (`Transaction Date,Posted
/// Date,Card No.,Description,Category,Debit,Credit`).
fn card_export(fields: &[&str]) -> Option<String> {
    if fields.len() < 6 || !dated(fields[0]) || !dated(fields[1]) {
        return None;
    }
    let chase = match fields[4].to_ascii_uppercase().as_str() {
        "SALE" => Some("CARD PURCHASE"),
        "RETURN" => Some("RETURN"),
        "FEE" => Some("FEE"),
        "PAYMENT" | "ADJUSTMENT" => Some(""),
        _ => None,
    };
    if let Some(kind) = chase {
        return Some(format!("{kind} {}", fields[2]).trim().to_owned());
    }
    let card = fields[2].len() == 4 && fields[2].bytes().all(|b| b.is_ascii_digit());
    card.then(|| format!("CARD PURCHASE {}", fields[3]))
}

#[cfg(test)]
mod tests {
    use super::known_row;

    #[test]
    fn a_revolut_row_keeps_its_type_and_description() {
        let row = "CARD_PAYMENT,Current,2024-03-17 23:58:41,2024-03-18 02:10:03,Uber,-14.62,0.00,GBP,COMPLETED,585.15";
        assert_eq!(known_row(row).as_deref(), Some("CARD PAYMENT Uber"));
        let commas = "TRANSFER,Current,2024-03-22 18:04:51,2024-03-22 18:04:52,To Ana, rent,-400.00,0.00,EUR,COMPLETED,12.66";
        assert_eq!(known_row(commas).as_deref(), Some("TRANSFER To Ana,rent"));
    }

    #[test]
    fn a_card_issuers_row_keeps_its_description() {
        let chase = "03/15/2024,03/17/2024,NY E-ZPASS CSC,Travel,Sale,-25.00,";
        assert_eq!(known_row(chase).as_deref(), Some("CARD PURCHASE NY E-ZPASS CSC"));
        let capital_one =
            "2024-03-09,2024-03-11,4471,AMC 4512 ONLINE 888-440-4262 KS,Entertainment,31.58,";
        assert_eq!(
            known_row(capital_one).as_deref(),
            Some("CARD PURCHASE AMC 4512 ONLINE 888-440-4262 KS")
        );
    }

    #[test]
    fn other_text_is_left_alone() {
        assert_eq!(known_row("28/02/2025,HALCYON TECH LTD SAL FEB,,3120.55,4021.72"), None);
        assert_eq!(known_row("CARD PAYMENT TO TESCO STORES 3297"), None);
        assert_eq!(known_row("a,b,c,d,e,f,g,h,i,j"), None);
        assert_eq!(known_row("TRANSFER,Current,yesterday,x,y,1,0,GBP,COMPLETED,2"), None);
    }
}
