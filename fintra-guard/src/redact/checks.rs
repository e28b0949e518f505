//! The check digits and format rules that tell an identifier from a number that looks like one.

/// Luhn (card numbers): `digits` are ASCII digits.
pub(crate) fn luhn(digits: &[u8]) -> bool {
    let mut sum = 0u32;
    for (i, d) in digits.iter().rev().enumerate() {
        let mut v = u32::from(d - b'0');
        if i % 2 == 1 {
            v *= 2;
            if v > 9 {
                v -= 9;
            }
        }
        sum += v;
    }
    !digits.is_empty() && sum.is_multiple_of(10)
}

/// ISO 13616 mod-97 (IBAN): `iban` is upper-case alphanumeric without spaces.
pub(crate) fn iban_mod97(iban: &[u8]) -> bool {
    if iban.len() < 15 || iban.len() > 34 {
        return false;
    }
    let rotated = iban[4..].iter().chain(&iban[..4]);
    let mut rem = 0u32;
    for &c in rotated {
        let value = match c {
            b'0'..=b'9' => u32::from(c - b'0'),
            b'A'..=b'Z' => u32::from(c - b'A') + 10,
            _ => return false,
        };
        rem = if value >= 10 { (rem * 100 + value) % 97 } else { (rem * 10 + value) % 97 };
    }
    rem == 1
}

/// The IBAN length of a country, for the countries that use IBANs most (SEPA and a few more).
pub(crate) fn iban_length(country: &[u8]) -> Option<usize> {
    let len = match country {
        b"NO" => 15,
        b"BE" => 16,
        b"DK" | b"FI" | b"FO" | b"GL" | b"NL" => 18,
        b"MK" | b"SI" => 19,
        b"AT" | b"BA" | b"EE" | b"KZ" | b"LT" | b"LU" | b"XK" => 20,
        b"CH" | b"CR" | b"HR" | b"LI" | b"LV" => 21,
        b"BG" | b"BH" | b"DE" | b"GB" | b"GE" | b"IE" | b"ME" | b"RS" => 22,
        b"AE" | b"GI" | b"IL" | b"TL" => 23,
        b"AD" | b"CZ" | b"ES" | b"MD" | b"PK" | b"RO" | b"SA" | b"SE" | b"SK" | b"TN" | b"VG" => 24,
        b"PT" | b"ST" => 25,
        b"IS" | b"TR" => 26,
        b"FR" | b"GR" | b"IT" | b"MC" | b"MR" | b"SM" => 27,
        b"AL" | b"AZ" | b"BY" | b"CY" | b"DO" | b"GT" | b"HU" | b"LB" | b"PL" | b"SV" => 28,
        b"BR" | b"EG" | b"PS" | b"QA" | b"UA" => 29,
        b"JO" | b"KW" | b"MU" => 30,
        b"MT" | b"SC" => 31,
        b"LC" => 32,
        _ => return None,
    };
    Some(len)
}

/// The ABA routing-number checksum (3-7-1 weights).
pub(crate) fn aba(digits: &[u8]) -> bool {
    if digits.len() != 9 {
        return false;
    }
    let weights = [3u32, 7, 1, 3, 7, 1, 3, 7, 1];
    let sum: u32 = digits.iter().zip(weights).map(|(d, w)| u32::from(d - b'0') * w).sum();
    sum.is_multiple_of(10) && digits.iter().any(|d| *d != b'0')
}

/// US social security numbers: area not 000, 666 or 9xx; group not 00; serial not 0000.
pub(crate) fn ssn(area: &str, group: &str, serial: &str) -> bool {
    area != "000" && area != "666" && !area.starts_with('9') && group != "00" && serial != "0000"
}

/// UK National Insurance number prefixes: first letter not D, F, I, Q, U, V; second not D, F,
/// I, O, Q, U, V; and not BG, GB, NK, KN, TN, NT, ZZ.
pub(crate) fn ni_prefix(prefix: &[u8]) -> bool {
    let [a, b] = prefix else { return false };
    let first_ok = a.is_ascii_uppercase() && !b"DFIQUV".contains(a);
    let second_ok = b.is_ascii_uppercase() && !b"DFIOQUV".contains(b);
    let banned =
        [b"BG", b"GB", b"NK", b"KN", b"TN", b"NT", b"ZZ"].iter().any(|p| p.as_slice() == prefix);
    first_ok && second_ok && !banned
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn check_digits() {
        assert!(luhn(b"4111111111111111"));
        assert!(!luhn(b"4111111111111112"));
        assert!(iban_mod97(b"GB82WEST12345698765432"));
        assert!(!iban_mod97(b"GB83WEST12345698765432"));
        assert!(aba(b"011000015"));
        assert!(!aba(b"011000016"));
        assert!(ssn("123", "45", "6789") && !ssn("666", "45", "6789") && !ssn("901", "45", "6789"));
        assert!(ni_prefix(b"AB") && !ni_prefix(b"QQ") && !ni_prefix(b"GB") && !ni_prefix(b"AO"));
    }
}
