//! Amounts as banks write them: thousands separators (`1,250.00`, `1.250,00`, `1'250.00`),
//! currency symbols and codes (`-£12.00`, `$1,000.00`, `12.00 EUR`), decimal commas (`-12,50`),
//! negatives as `-`, a Unicode minus, parentheses, a trailing minus or a `DR` suffix.

use rust_decimal::Decimal;

/// How a bank writes the decimal separator.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum DecimalSeparator {
    /// `1,250.00` (UK, US, Switzerland with apostrophes).
    #[default]
    Point,
    /// `1.250,00` (most of the euro area).
    Comma,
}

const SYMBOLS: [&str; 12] =
    ["£", "$", "€", "¥", "₹", "CHF", "GBP", "EUR", "USD", "Fr.", "kr", "zł"];

/// `-?digits(.digits)?` with a point separator, read directly; `None` for anything else.
fn plain_decimal(text: &str, separator: DecimalSeparator) -> Option<Decimal> {
    if separator != DecimalSeparator::Point {
        return None;
    }
    let digits = text.strip_prefix('-').unwrap_or(text);
    let (integer, fraction) = digits.split_once('.').unwrap_or((digits, "1"));
    let all_digits = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
    if !(all_digits(integer) && all_digits(fraction)) || text.len() > 30 {
        return None;
    }
    text.parse::<Decimal>().ok()
}

/// The exact value of an amount cell, `None` for an empty one.
///
/// # Errors
/// The cell when it is not an amount.
pub fn parse_amount(cell: &str, separator: DecimalSeparator) -> Result<Option<Decimal>, String> {
    let trimmed = cell.trim();
    if trimmed.is_empty() {
        return Ok(None);
    }
    // Most cells are plain: `-12.50`, `1000`. Read those without copying.
    if let Some(plain) = plain_decimal(trimmed, separator) {
        return Ok(Some(plain));
    }
    let mut text: String = trimmed.trim_matches('"').trim().to_owned();
    if text.is_empty() {
        return Ok(None);
    }
    let mut negative = false;
    if text.starts_with('(') && text.ends_with(')') {
        negative = true;
        text = text[1..text.len() - 1].to_owned();
    }
    let upper = text.to_ascii_uppercase();
    if let Some(stripped) = upper.strip_suffix("DR") {
        negative = true;
        text = text[..stripped.len()].to_owned();
    } else if let Some(stripped) = upper.strip_suffix("CR") {
        text = text[..stripped.len()].to_owned();
    }
    for symbol in SYMBOLS {
        if text.contains(symbol) {
            text = text.replace(symbol, "");
        }
    }
    let mut text: String = text.chars().filter(|c| !c.is_whitespace() && *c != '\u{a0}').collect();
    if let Some(rest) = text.strip_prefix(['-', '−']) {
        negative = !negative;
        text = rest.to_owned();
    } else if let Some(rest) = text.strip_prefix('+') {
        text = rest.to_owned();
    } else if let Some(rest) = text.strip_suffix(['-', '−']) {
        negative = !negative;
        text = rest.to_owned();
    }
    // The symbol may sit between the sign and the digits ("-£12.00", "£-12.00").
    if let Some(rest) = text.strip_prefix(['-', '−']) {
        negative = !negative;
        text = rest.to_owned();
    }
    let (decimal, thousands): (char, &[char]) = match separator {
        DecimalSeparator::Point => ('.', &[',', '\'', '’']),
        DecimalSeparator::Comma => (',', &['.', '\'', '’']),
    };
    // Thousands separators only between groups of three digits: "12,50" in a point-decimal
    // file is an error, never 1250.
    let (integer, fraction) = match text.split_once(decimal) {
        Some((i, f)) => (i, Some(f)),
        None => (text.as_str(), None),
    };
    let groups: Vec<&str> = integer.split(thousands).collect();
    if groups.len() > 1 && groups[1..].iter().any(|g| g.len() != 3) {
        return Err(cell.chars().take(64).collect());
    }
    let mut normalised: String = groups.concat();
    if let Some(fraction) = fraction {
        normalised.push('.');
        normalised.push_str(fraction);
    }
    let valid = !normalised.is_empty()
        && normalised.chars().all(|c| c.is_ascii_digit() || c == '.')
        && normalised.matches('.').count() <= 1;
    if !valid {
        return Err(cell.chars().take(64).collect());
    }
    let value: Decimal =
        normalised.parse().map_err(|_| cell.chars().take(64).collect::<String>())?;
    Ok(Some(if negative { -value } else { value }))
}

#[cfg(test)]
mod tests {
    use super::*;
    use DecimalSeparator::{Comma, Point};

    fn amount(cell: &str, separator: DecimalSeparator) -> Option<String> {
        parse_amount(cell, separator).ok().flatten().map(|d| d.to_string())
    }

    #[test]
    fn how_banks_write_amounts() {
        assert_eq!(amount("1,250.00", Point).as_deref(), Some("1250.00"));
        assert_eq!(amount("-£12.00", Point).as_deref(), Some("-12.00"));
        assert_eq!(amount("£-12.00", Point).as_deref(), Some("-12.00"));
        assert_eq!(amount("$1,000.00", Point).as_deref(), Some("1000.00"));
        assert_eq!(amount("-12,50", Comma).as_deref(), Some("-12.50"));
        assert_eq!(amount("1.250,00", Comma).as_deref(), Some("1250.00"));
        assert_eq!(amount("1'250.00", Point).as_deref(), Some("1250.00"));
        assert_eq!(amount("(45.10)", Point).as_deref(), Some("-45.10"));
        assert_eq!(amount("45.10-", Point).as_deref(), Some("-45.10"));
        assert_eq!(amount("45.10 DR", Point).as_deref(), Some("-45.10"));
        assert_eq!(amount("12.00 EUR", Point).as_deref(), Some("12.00"));
        assert_eq!(amount("−3.20", Point).as_deref(), Some("-3.20"));
        assert_eq!(amount("", Point), None);
        assert!(parse_amount("abc", Point).is_err());
        assert!(parse_amount("1.2.3", Point).is_err());
        assert!(parse_amount("12,50", Point).is_err(), "never read as 1250");
        assert!(parse_amount("1.25.0", Comma).is_err());
    }
}
