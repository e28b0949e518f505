//! Getting text out of a bank export: the encoding (UTF-8 with or without a byte-order mark, else
//! Windows-1252, which UK banks still use for "£"), the delimiter, and the line the header is on.

/// Windows-1252's bytes 0x80–0x9F (the rest of the upper half is Latin-1).
const CP1252_HIGH: [char; 32] = [
    '€', '\u{81}', '‚', 'ƒ', '„', '…', '†', '‡', 'ˆ', '‰', 'Š', '‹', 'Œ', '\u{8d}', 'Ž', '\u{8f}',
    '\u{90}', '‘', '’', '“', '”', '•', '–', '—', '˜', '™', 'š', '›', 'œ', '\u{9d}', 'ž', 'Ÿ',
];

/// The text of an export and the encoding it was read as.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Decoded {
    pub(crate) text: String,
    pub(crate) encoding: &'static str,
}

/// UTF-8 (a leading byte-order mark dropped), else Windows-1252.
pub(crate) fn decode(bytes: &[u8]) -> Decoded {
    let bytes = bytes.strip_prefix(&[0xEF, 0xBB, 0xBF]).unwrap_or(bytes);
    match std::str::from_utf8(bytes) {
        Ok(text) => Decoded { text: text.to_owned(), encoding: "UTF-8" },
        Err(_) => Decoded {
            text: bytes
                .iter()
                .map(|&b| match b {
                    0x80..=0x9F => CP1252_HIGH[usize::from(b - 0x80)],
                    _ => char::from(b),
                })
                .collect(),
            encoding: "Windows-1252",
        },
    }
}

/// The cells of one line, quotes removed, for header matching.
pub(crate) fn cells(line: &str, delimiter: u8) -> Vec<String> {
    let mut reader = csv::ReaderBuilder::new()
        .delimiter(delimiter)
        .has_headers(false)
        .flexible(true)
        .from_reader(line.as_bytes());
    reader
        .records()
        .next()
        .and_then(Result::ok)
        .map(|r| r.iter().map(str::to_owned).collect())
        .unwrap_or_default()
}

/// A header cell compared case-insensitively, spaces collapsed; trailing empty cells (a
/// trailing delimiter) do not count.
pub(crate) fn normalise_header(cells: &[String]) -> Vec<String> {
    let mut out: Vec<String> = cells
        .iter()
        .map(|c| c.split_whitespace().collect::<Vec<_>>().join(" ").to_lowercase())
        .collect();
    while out.last().is_some_and(String::is_empty) {
        out.pop();
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn windows_1252_pounds_and_accents_and_a_bom() {
        assert_eq!(decode(b"\xa3 12.00 caf\xe9 \x80").text, "£ 12.00 café €");
        assert_eq!(decode("\u{feff}Date,£".as_bytes()).text, "Date,£");
        assert_eq!(decode("Date,£".as_bytes()).encoding, "UTF-8");
    }

    #[test]
    fn delimiters_and_headers() {
        let header = cells("Transaction Date,Debit  Amount,Balance,", b',');
        assert_eq!(normalise_header(&header), ["transaction date", "debit amount", "balance"]);
    }
}
