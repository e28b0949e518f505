//! Descriptor cleaning: a raw bank description split into an intermediary (processor, wallet or
//! delivery platform), the counterparty, noise, and the kind of transaction the bank's phrasing
//! says it is.
//!
//! Everything works on tokens, never on raw substrings: "CURRENT" never matches "RENT", and
//! "SHELLFISH" never matches "SHELL".

mod ach;
mod export;
mod kind;
mod lexicon;
mod phrases;

use ach::{Ach, ach_fields};

use kind::kind_of;
use lexicon::{
    CURRENCIES, FIELD_LABELS, MONTHS, NOISE_WORDS, NUMBER_LABELS, PAYEE_MARKERS, PLATFORMS,
    PROCESSORS, REGIONS, STAR_PROCESSORS, WEAK_PAYEE_MARKERS,
};

/// What kind of movement the bank's phrasing says a line is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Kind {
    /// A card purchase (POS, contactless, online card payment).
    CardPurchase,
    /// A direct debit (UK DD, SEPA Lastschrift, US ACH debit).
    DirectDebit,
    /// A standing order.
    StandingOrder,
    /// A transfer or faster payment (in or out).
    Transfer,
    /// A cash machine withdrawal or cash paid in.
    Cash,
    /// A fee or charge.
    Fee,
    /// Interest paid or charged.
    Interest,
    /// A refund or reversal.
    Refund,
    /// Salary or wages.
    Salary,
    /// Nothing in the phrasing says.
    Unknown,
}

/// How an intermediary relates to the counterparty that follows it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum IntermediaryRole {
    /// A card processor or wallet (Square, Toast, PayPal, Apple Pay): the counterparty after it
    /// is the merchant.
    Processor,
    /// A platform that sells on behalf of others (DoorDash, Uber Eats, Deliveroo): the platform
    /// is the merchant, the restaurant after it is detail.
    Platform,
}

/// A processor, wallet or platform found in front of (or instead of) the counterparty.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Intermediary {
    /// Its name ("Square", "PayPal", "DoorDash"), or the raw prefix when it is not known.
    pub name: String,
    /// How it relates to the counterparty.
    pub role: IntermediaryRole,
}

/// A raw description, parsed.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Descriptor {
    /// The description as given.
    pub raw: String,
    /// The kind of movement, from the bank's phrasing.
    pub kind: Kind,
    /// A processor, wallet or platform, if one was found.
    pub intermediary: Option<Intermediary>,
    /// The counterparty's words, uppercase, ASCII-folded, noise removed, in order.
    pub counterparty: Vec<String>,
    /// Every word of the description (uppercase, ASCII-folded), noise included, in order.
    pub words: Vec<String>,
    /// The description was a whole row of a known CSV export, narrowed to its type, other
    /// party and reference before it was parsed.
    #[serde(default)]
    pub row: bool,
}

impl Descriptor {
    /// The counterparty as one string ("STARBUCKS STORE").
    pub fn counterparty_text(&self) -> String {
        self.counterparty.join(" ")
    }

    /// True when the bank may have cut the line short inside the counterparty's last word: a
    /// line as long as the fields banks cut (18 bytes or more) whose counterparty runs to its
    /// very end.
    pub fn cut_short(&self) -> bool {
        // A known export's row is whole: its columns are not cut to a field's width.
        self.raw.trim().len() >= 18
            && !self.row
            && self.words.last().is_some_and(|w| self.counterparty.last() == Some(w))
    }

    /// True when `word` is one of the description's words (whole-word match).
    pub fn has_word(&self, word: &str) -> bool {
        self.words.iter().any(|w| w == word)
    }

    /// True when the words contain `phrase` (space-separated words) in order, contiguously.
    pub fn has_phrase(&self, phrase: &str) -> bool {
        self.phrase_ends(phrase).next().is_some()
    }

    /// Where `phrase` (space-separated words) stands in the words, contiguously: the index one
    /// past its last word, for every place it stands.
    pub fn phrase_ends<'a>(&'a self, phrase: &'a str) -> impl Iterator<Item = usize> + 'a {
        let len = phrase.split(' ').count();
        (0..=self.words.len().saturating_sub(len)).filter_map(move |start| {
            let mut wanted = phrase.split(' ');
            let here = self.words.get(start..start + len)?.iter().all(|w| wanted.next() == Some(w));
            here.then_some(start + len)
        })
    }
}

/// The longest description looked at; longer input is cut (on a character boundary).
pub const MAX_DESCRIPTION_BYTES: usize = 512;

/// Uppercase and fold accented Latin letters to ASCII ("Überweisung" → "UEBERWEISUNG", "é" →
/// "E"); other characters are kept for the tokenizer to treat as separators.
pub fn fold(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            'ä' | 'Ä' | 'æ' | 'Æ' => out.push_str("AE"),
            'ö' | 'Ö' | 'ø' | 'Ø' | 'œ' | 'Œ' => out.push_str("OE"),
            'ü' | 'Ü' => out.push_str("UE"),
            'ß' => out.push_str("SS"),
            'à' | 'á' | 'â' | 'ã' | 'å' | 'ą' | 'À' | 'Á' | 'Â' | 'Ã' | 'Å' | 'Ą' => {
                out.push('A')
            }
            'ç' | 'Ç' | 'č' | 'Č' | 'ć' | 'Ć' => out.push('C'),
            'è' | 'é' | 'ê' | 'ë' | 'È' | 'É' | 'Ê' | 'Ë' | 'ě' | 'Ě' | 'ę' | 'Ę' => {
                out.push('E')
            }
            'ì' | 'í' | 'î' | 'ï' | 'Ì' | 'Í' | 'Î' | 'Ï' => out.push('I'),
            'ñ' | 'Ñ' | 'ń' | 'Ń' | 'ň' | 'Ň' => out.push('N'),
            'ò' | 'ó' | 'ô' | 'õ' | 'Ò' | 'Ó' | 'Ô' | 'Õ' => out.push('O'),
            'ù' | 'ú' | 'û' | 'Ù' | 'Ú' | 'Û' | 'ů' | 'Ů' => out.push('U'),
            'ý' | 'ÿ' | 'Ý' => out.push('Y'),
            'š' | 'Š' | 'ś' | 'Ś' => out.push('S'),
            'ž' | 'Ž' | 'ź' | 'Ź' | 'ż' | 'Ż' => out.push('Z'),
            'ł' | 'Ł' => out.push('L'),
            'ř' | 'Ř' => out.push('R'),
            c if c.is_ascii() => out.push(c.to_ascii_uppercase()),
            c => out.push(c),
        }
    }
    out
}

/// Splits folded text into words: letters and digits, with `'` dropped inside a word
/// ("SAINSBURY'S" → "SAINSBURYS") and `&` kept as a word. Everything else separates.
fn words_of(folded: &str) -> Vec<String> {
    let mut words = Vec::new();
    let mut word = String::new();
    for c in folded.chars() {
        if c.is_ascii_alphanumeric() {
            word.push(c);
        } else if c == '\'' || c == '\u{2019}' {
            // Dropped inside a word.
        } else {
            if !word.is_empty() {
                words.push(std::mem::take(&mut word));
            }
            if c == '&' {
                words.push("&".to_owned());
            }
        }
    }
    if !word.is_empty() {
        words.push(word);
    }
    // "CO-OP" is one name, as the catalogue spells it ("COOP"), not a company's form and a
    // bank's initials.
    while let Some(i) = words.windows(2).position(|p| p[0] == "CO" && p[1] == "OP") {
        words.splice(i..i + 2, ["COOP".to_owned()]);
    }
    words
}

/// True for a word that is a code, a number or a card mask rather than a name: all digits,
/// letters and digits interleaved ("2K4AB12C3", "S384072123456789"), or a mask ("XXXX"). Names
/// with digits keep: letters then digits or digits then letters ("BET365", "7ELEVEN", "O2").
pub(crate) fn is_code(word: &str) -> bool {
    let bytes = word.as_bytes();
    let digits = bytes.iter().filter(|b| b.is_ascii_digit()).count();
    if digits == 0 {
        return word.len() >= 4 && bytes.iter().all(|b| *b == b'X');
    }
    // A card mask: X's, then the last digits of the card ("X1234", "XXXXX8421").
    let xs = bytes.iter().take_while(|b| **b == b'X').count();
    if xs > 0 && digits >= 3 && xs + digits == bytes.len() {
        return true;
    }
    // A mask's middle group: the first digits, then X's ("04XX" in "4871 04XX XXXX 1234").
    let trailing_xs = bytes.iter().rev().take_while(|b| **b == b'X').count();
    if trailing_xs >= 2 && trailing_xs + digits == bytes.len() {
        return true;
    }
    if digits == bytes.len() {
        return true;
    }
    // An IBAN's first group: a country's two letters and two check digits ("BE68 5390 …").
    if bytes.len() == 4 && bytes[..2].iter().all(u8::is_ascii_uppercase) && digits == 2 {
        return true;
    }
    // A terminal's number ("POS4711").
    if word.starts_with("POS") && digits >= 3 && digits + 3 == bytes.len() {
        return true;
    }
    // Runs of letters and digits: a name has at most two.
    let runs =
        1 + bytes.windows(2).filter(|w| w[0].is_ascii_digit() != w[1].is_ascii_digit()).count();
    runs > 2 || digits > 4
}

/// A month's name or abbreviation, in any language the cleaner reads, alone or with its year
/// run on ("MAR", "MAR24", "MAR2024"): the month a payment is for.
pub(crate) fn month_paid(word: &str) -> bool {
    let name = word.trim_end_matches(|c: char| c.is_ascii_digit());
    MONTHS.contains(&name) && word.len() - name.len() <= 4
}

/// True for a word the cleaner drops from counterparties: connectors, legal forms, country and
/// currency codes, card words, codes and month names.
pub(crate) fn is_noise(word: &str) -> bool {
    NOISE_WORDS.contains(&word)
        || CURRENCIES.contains(&word)
        || is_code(word)
        || MONTHS.contains(&word)
        || short_date(word)
}

/// One letter and three digits or more ("L340").
fn lane(word: &str) -> bool {
    let b = word.as_bytes();
    b.len() >= 4 && b[0].is_ascii_uppercase() && b[1..].iter().all(u8::is_ascii_digit)
}

/// A day, a month's three letters and a year ("13MAR24").
fn dated(word: &str) -> bool {
    let cut = word.len().saturating_sub(2);
    word.get(..cut).is_some_and(short_date)
        && word.get(cut..).is_some_and(|year| year.bytes().all(|b| b.is_ascii_digit()))
}

/// A day and a month's three letters ("14MAR", as UK banks print a card's date).
fn short_date(word: &str) -> bool {
    let day = word.bytes().take_while(u8::is_ascii_digit).count();
    (1..=2).contains(&day)
        && word.len() == day + 3
        && word.get(day..).is_some_and(|month| MONTHS.contains(&month))
}

fn phrase_words(phrase: &str) -> Vec<&str> {
    phrase.split(' ').collect()
}

/// Parses a raw description. Never fails: empty, huge or odd input gives a descriptor with an
/// empty counterparty and [`Kind::Unknown`] where nothing can be read.
pub fn parse(raw: &str) -> Descriptor {
    let cut = if raw.len() > MAX_DESCRIPTION_BYTES {
        let mut end = MAX_DESCRIPTION_BYTES;
        while !raw.is_char_boundary(end) {
            end -= 1;
        }
        &raw[..end]
    } else {
        raw
    };
    // A known export's row pasted whole: only its type and description are words.
    let row = export::known_row(cut);
    let folded = fold(row.as_deref().unwrap_or(cut));
    let words = words_of(&folded);
    let (mut kind, phrase_spans) = kind_of(&words);
    let ach = ach_fields(&folded, &words);
    if let Some(ach) = &ach {
        kind = ach.kind(kind);
    }

    let keep = counterparty_mask(&words, &folded, &phrase_spans, ach.as_ref());
    let mut intermediary = None;
    let mut start = 0;
    let kept: Vec<&str> =
        (0..words.len()).filter(|&i| keep[i]).map(|i| words[i].as_str()).collect();
    // Platforms first (the platform is the merchant), then processors. An unknown prefix before
    // a `*` stays: it is as often the merchant ("MTA*NYCT") as a processor code.
    if let Some((_, name)) = prefix_match(&kept, PLATFORMS) {
        intermediary =
            Some(Intermediary { name: name.to_owned(), role: IntermediaryRole::Platform });
    } else if let Some((len, name)) = prefix_match(&kept, PROCESSORS).or_else(|| {
        // A company that bills others' products under its own name with a star
        // ("GOOGLE *YouTube"); without the star the name is the merchant ("GOOGLE STORAGE").
        STAR_PROCESSORS
            .iter()
            .find(|(word, _)| {
                kept.first() == Some(word)
                    && (folded.contains(&format!("{word} *"))
                        || folded.contains(&format!("{word}*")))
            })
            .map(|(_, name)| (1, *name))
    }) {
        // A processor alone ("PAYPAL") is the counterparty itself.
        if kept.len() > len {
            intermediary =
                Some(Intermediary { name: name.to_owned(), role: IntermediaryRole::Processor });
            start = len;
            // The same processor's code again ("PAYPAL PP.8123.PP ZALANDO").
            while kept.len() > start + 1
                && let Some((more, _)) = prefix_match(&kept[start..], PROCESSORS)
            {
                start += more;
            }
        }
    }
    let counterparty: Vec<String> =
        kept[start..].iter().map(|w| unpadded(w).to_owned()).take(8).collect();
    Descriptor { raw: raw.to_owned(), kind, intermediary, counterparty, words, row: row.is_some() }
}

/// Which words are the counterparty's: words minus bank phrases, noise, codes, dates, a card
/// prefix, ACH fields, what stands before a payee marker and a closing region.
fn counterparty_mask(
    words: &[String],
    folded: &str,
    phrase_spans: &[(usize, usize)],
    ach: Option<&Ach>,
) -> Vec<bool> {
    let mut keep: Vec<bool> = vec![true; words.len()];
    for (a, b) in phrase_spans {
        for k in keep.iter_mut().take(*b).skip(*a) {
            *k = false;
        }
    }
    for (i, w) in words.iter().enumerate() {
        // "MC" is a card network's mark, except where it opens "MC DONALD'S".
        let brand = w == "MC" && words.get(i + 1).is_some_and(|n| n.starts_with("DONALD"));
        // A name padded to its field's width keeps its name ("EASYJET000EJY7K2PQ").
        if is_noise(w) && !brand && unpadded(w) == w {
            keep[i] = false;
        }
    }
    // An Australian card line opens with the card's network letter and last digits ("V4821").
    if words.first().is_some_and(|w| card_suffix(w)) {
        keep[0] = false;
    }
    austrian_card_fields(words, &mut keep);
    closing_card_flag(words, &mut keep);
    number_labels(words, &mut keep);
    // A till's or lane's code right after the bank's phrasing ("POINT OF SALE DEBIT L340
    // DATE 03-16 PETSMART"): one letter and three digits or more, before a name.
    if let Some(first) = keep.iter().position(|k| *k)
        && first > 0
        && lane(&words[first])
        && keep[first + 1..].contains(&true)
    {
        keep[first] = false;
    }
    // A lone letter opens no name where it is Lloyds' flag after a dated card line ("4821
    // 13MAR24 D , SHELL …", or "CD" for a card) or the label of a card mask ("carta n. XXXX5678"); not the
    // initial of "M&S" or of a payee ("TFR 30-99-50 12345678 J BARBER").
    if let Some(first) = keep.iter().position(|k| *k) {
        let next = words.get(first + 1).map(String::as_str);
        let flag = first > 0
            && dated(&words[first - 1])
            && matches!(words[first].as_str(), "C" | "D" | "CD")
            && next.is_some_and(|w| w != "&");
        // The mask may follow the card's first digits ("CARTE N° 6703 04XX XXXX 1234").
        let masked = |w: &String| w.contains('X') && is_code(w);
        let label = words[first].len() == 1
            && words[first].bytes().all(|b| b.is_ascii_alphabetic())
            && next.is_some_and(is_code)
            && words[first + 1..].iter().take(3).any(masked);
        // "N." (numero) before a card's or a receipt's number ("CARTA DI DEBITO N.***5521").
        let numero = words[first] == "N"
            && next.is_some_and(|w| w.len() >= 3 && w.bytes().all(|b| b.is_ascii_digit()));
        if flag || label || numero {
            keep[first] = false;
        }
    }
    // An ACH line's company name stands before its fields; the fields are codes and the
    // account holder's own name.
    if let Some(ach) = ach {
        for (i, k) in keep.iter_mut().enumerate() {
            *k &= ach.name.contains(&i);
        }
    }
    // A payee marker ("NAAM:", "EINKAUF BEI", "PRESSO"): the counterparty starts after it.
    // A weak one ("C/O", Italian banks' "at") only where nothing but phrasing, codes and
    // dates stands before it: after a name it is "care of" or an address ("BAR ROSSI C/O
    // STAZIONE TERMINI", "UPS C.O.D.").
    let marker = payee_marker(words, folded.contains("/NAME/")).or_else(|| {
        find_marker(words, WEAK_PAYEE_MARKERS.iter())
            .filter(|&(at, _)| !keep[..at].contains(&true))
            .map(|(_, after)| after)
    });
    if let Some(after) = marker {
        for k in keep.iter_mut().take(after) {
            *k = false;
        }
        // …and ends at the next field label.
        if let Some(end) = (after..words.len()).find(|&i| FIELD_LABELS.contains(&words[i].as_str()))
        {
            for k in keep.iter_mut().skip(end) {
                *k = false;
            }
        }
    }
    // A closing US state code after a city: "SEATTLE WA" (the last word kept so far).
    let kept_count = keep.iter().filter(|k| **k).count();
    if kept_count >= 3
        && let Some(last) = (0..words.len()).rev().find(|&i| keep[i])
        && REGIONS.contains(&words[last].as_str())
    {
        keep[last] = false;
    }
    keep
}

/// A Swedish bankgiro number ("BG 5050-1055"), a French card's ("CB*4821") and labels of
/// numbers ("TERMINAL 00412"): the giro, the card and the labels, not a name.
fn number_labels(words: &[String], keep: &mut [bool]) {
    for i in 0..words.len().saturating_sub(1) {
        let before_number = words[i + 1].bytes().all(|b| b.is_ascii_digit());
        // A time is a clock's hours ("TIME 14:02"), not a name's number ("TIME 4 PAWS").
        let label = NUMBER_LABELS.contains(&words[i].as_str())
            && is_code(&words[i + 1])
            && (words[i] != "TIME" || words[i + 1].len() >= 2);
        if matches!(words[i].as_str(), "BG" | "CB") && before_number || label {
            keep[i] = false;
        }
    }
}

/// Lloyds closes a card line with its flag and the card's last digits ("SUMUP *J W PICKERING
/// BUTC CD 2290"): the flag is no name.
fn closing_card_flag(words: &[String], keep: &mut [bool]) {
    // A name must stand before it ("TRANSFER TO CD 4821" is a certificate of deposit).
    if let [.., flag, digits] = words
        && flag == "CD"
        && digits.len() == 4
        && digits.bytes().all(|b| b.is_ascii_digit())
        && keep[..words.len() - 2].contains(&true)
    {
        keep[words.len() - 2] = false;
    }
}

/// Austrian card lines ("POS 62,40 AT K1 19.03. 07:31O OMV 1614"): the card's sequence after
/// the country, and the time's minutes with the terminal's flag letter glued on, are no name.
fn austrian_card_fields(words: &[String], keep: &mut [bool]) {
    for i in 1..words.len() {
        let (before, word) = (words[i - 1].as_str(), words[i].as_bytes());
        let sequence = before == "AT"
            && word.len() == 2
            && matches!(word[0], b'K' | b'D')
            && word[1].is_ascii_digit();
        let minutes = word.len() == 3
            && word[..2].iter().all(u8::is_ascii_digit)
            && word[2].is_ascii_uppercase()
            && before.len() == 2
            && before.bytes().all(|b| b.is_ascii_digit());
        if sequence || minutes {
            keep[i] = false;
        }
    }
}

/// The text the parser reads: a known export's row narrowed to its type, other party and
/// reference, or the description itself.
pub(crate) fn narrowed(raw: &str) -> std::borrow::Cow<'_, str> {
    export::known_row(raw).map_or(std::borrow::Cow::Borrowed(raw), std::borrow::Cow::Owned)
}

/// A name the bank padded with zeros to its field's width ("EASYJET000"), without them and
/// without the booking reference glued after three zeros or more ("EASYJET000EJY7K2PQ"; not
/// a reference's label, "KUNDENNR0012345").
fn unpadded(word: &str) -> &str {
    let letters = word.bytes().take_while(u8::is_ascii_alphabetic).count();
    let rest = &word[letters..];
    let zeros = rest.bytes().take_while(|b| *b == b'0').count();
    let padded = zeros == rest.len() && zeros >= 2 || zeros >= 3;
    if letters >= 4 && padded { &word[..letters] } else { word }
}

/// A card's network letter and last four digits ("V4821", "M1234").
fn card_suffix(word: &str) -> bool {
    let b = word.as_bytes();
    b.len() == 5 && matches!(b[0], b'V' | b'M') && b[1..].iter().all(u8::is_ascii_digit)
}

/// The index of the first word after a payee marker.
fn payee_marker(words: &[String], name_field: bool) -> Option<usize> {
    // `NAME` marks a payee only as a structured export's `/NAME/` field.
    find_marker(words, PAYEE_MARKERS.iter().filter(|m| name_field || **m != "NAME"))
        .map(|(_, after)| after)
}

/// The first of `markers` found with a name after it: (its index, the index of the word after
/// it).
fn find_marker<'a>(
    words: &[String],
    mut markers: impl Iterator<Item = &'a &'a str>,
) -> Option<(usize, usize)> {
    markers.find_map(|marker| {
        let wanted = phrase_words(marker);
        (0..words.len())
            .find(|&i| {
                i + wanted.len() <= words.len()
                    && words[i..i + wanted.len()].iter().zip(&wanted).all(|(a, b)| a == b)
            })
            .map(|i| (i, i + wanted.len()))
            // A marker followed only by numbers names no payee ("AGL SALES BPAY 1234567890").
            .filter(|&(_, after)| {
                words[after..].iter().any(|w| w.bytes().any(|b| b.is_ascii_alphabetic()))
            })
    })
}

fn prefix_match(kept: &[&str], table: &[(&[&str], &'static str)]) -> Option<(usize, &'static str)> {
    table
        .iter()
        .filter(|(prefix, _)| kept.len() >= prefix.len() && kept[..prefix.len()] == prefix[..])
        .max_by_key(|(prefix, _)| prefix.len())
        .map(|(prefix, name)| (prefix.len(), *name))
}

#[cfg(test)]
mod tests;
