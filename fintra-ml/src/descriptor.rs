//! Descriptor cleaning: a raw bank description split into an intermediary (processor, wallet or
//! delivery platform), the counterparty, noise, and the kind of transaction the bank's phrasing
//! says it is.
//!
//! Everything works on tokens, never on raw substrings: "CURRENT" never matches "RENT", and
//! "SHELLFISH" never matches "SHELL".

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
}

impl Descriptor {
    /// The counterparty as one string ("STARBUCKS STORE").
    pub fn counterparty_text(&self) -> String {
        self.counterparty.join(" ")
    }

    /// True when `word` is one of the description's words (whole-word match).
    pub fn has_word(&self, word: &str) -> bool {
        self.words.iter().any(|w| w == word)
    }

    /// True when the words contain `phrase` (space-separated words) in order, contiguously.
    pub fn has_phrase(&self, phrase: &str) -> bool {
        let wanted: Vec<&str> = phrase.split(' ').collect();
        contains_run(&self.words, &wanted)
    }
}

fn contains_run(words: &[String], wanted: &[&str]) -> bool {
    !wanted.is_empty()
        && words.windows(wanted.len()).any(|w| w.iter().zip(wanted).all(|(a, b)| a == b))
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
            'à' | 'á' | 'â' | 'ã' | 'å' | 'À' | 'Á' | 'Â' | 'Ã' | 'Å' => out.push('A'),
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
    words
}

/// Known processors and wallets: (prefix words, name). Matched at the start of the counterparty.
const PROCESSORS: &[(&[&str], &str)] = &[
    (&["SQ"], "Square"),
    (&["SQU"], "Square"),
    (&["TST"], "Toast"),
    (&["PAYPAL"], "PayPal"),
    (&["PP"], "PayPal"),
    (&["STRIPE"], "Stripe"),
    (&["SP"], "Shopify"),
    (&["IZ"], "Zettle"),
    (&["ZETTLE"], "Zettle"),
    (&["SUMUP"], "SumUp"),
    (&["ZTL"], "Zettle"),
    (&["CRV"], "Curve"),
    (&["CURVE"], "Curve"),
    (&["CKO"], "Checkout.com"),
    (&["APPLE", "PAY"], "Apple Pay"),
    (&["GOOGLE", "PAY"], "Google Pay"),
    (&["GPAY"], "Google Pay"),
    (&["WL"], "Worldline"),
    (&["PY"], "Paymentsense"),
    (&["SMP"], "Square"),
    (&["CLV"], "Clover"),
    (&["PAYPAL", "INST", "XFER"], "PayPal"),
    (&["TWINT"], "TWINT"),
    (&["MOBILEPAY"], "MobilePay"),
    (&["VIPPS"], "Vipps"),
    (&["SWISH"], "Swish"),
    (&["SATISPAY"], "Satispay"),
    (&["LYDIA"], "Lydia"),
];

/// Delivery and marketplace platforms: the platform is the merchant.
const PLATFORMS: &[(&[&str], &str)] = &[
    (&["DOORDASH"], "DoorDash"),
    (&["DD", "DOORDASH"], "DoorDash"),
    (&["UBER", "EATS"], "Uber Eats"),
    (&["UBEREATS"], "Uber Eats"),
    (&["DELIVEROO"], "Deliveroo"),
    (&["GRUBHUB"], "Grubhub"),
    (&["JUST", "EAT"], "Just Eat"),
    (&["JUSTEAT"], "Just Eat"),
    (&["WOLT"], "Wolt"),
    (&["GLOVO"], "Glovo"),
    (&["LIEFERANDO"], "Lieferando"),
    (&["THUISBEZORGD"], "Thuisbezorgd"),
    (&["INSTACART"], "Instacart"),
    (&["POSTMATES"], "Postmates"),
];

/// Bank phrasing: (words, kind). The longest phrase found anywhere decides; ties go to the
/// earlier entry. These words are removed from the counterparty.
const PHRASES: &[(&str, Kind)] = &[
    ("CARD PAYMENT TO", Kind::CardPurchase),
    ("CARD PAYMENT", Kind::CardPurchase),
    ("CARD PURCHASE", Kind::CardPurchase),
    ("DEBIT CARD PURCHASE", Kind::CardPurchase),
    ("PURCHASE AUTHORIZED ON", Kind::CardPurchase),
    ("PURCHASE AUTHORISED ON", Kind::CardPurchase),
    ("POS DEBIT", Kind::CardPurchase),
    ("POS PURCHASE", Kind::CardPurchase),
    ("POS", Kind::CardPurchase),
    ("CHECKCARD", Kind::CardPurchase),
    ("CHECK CARD", Kind::CardPurchase),
    ("DEBIT CARD", Kind::CardPurchase),
    ("CONTACTLESS", Kind::CardPurchase),
    ("KARTENZAHLUNG", Kind::CardPurchase),
    ("GIROCARD", Kind::CardPurchase),
    ("CARTE", Kind::CardPurchase),
    ("PAIEMENT PAR CARTE", Kind::CardPurchase),
    ("PAIEMENT CB", Kind::CardPurchase),
    ("COMPRA TARJETA", Kind::CardPurchase),
    ("PAGO CON TARJETA", Kind::CardPurchase),
    ("COMPRA TARJ", Kind::CardPurchase),
    ("FACTURE CARTE", Kind::CardPurchase),
    ("BANCONTACT", Kind::CardPurchase),
    ("BETALING VIA BANCONTACT", Kind::CardPurchase),
    ("PAIEMENT PAR CARTE BANCONTACT", Kind::CardPurchase),
    ("KORTTIOSTO", Kind::CardPurchase),
    ("KORTKOEB", Kind::CardPurchase),
    ("PLATNOSC KARTA", Kind::CardPurchase),
    ("COMPRA MB", Kind::CardPurchase),
    ("PAGO TARJETA", Kind::CardPurchase),
    ("PAGAMENTO", Kind::CardPurchase),
    ("ACHAT CB", Kind::CardPurchase),
    ("CB", Kind::CardPurchase),
    ("COMPRA", Kind::CardPurchase),
    ("PAGAMENTO POS", Kind::CardPurchase),
    ("BETAALAUTOMAAT", Kind::CardPurchase),
    ("BEA", Kind::CardPurchase),
    ("DEB", Kind::CardPurchase),
    ("VIS", Kind::CardPurchase),
    ("DIRECT DEBIT", Kind::DirectDebit),
    ("DIRECT DEBIT PAYMENT TO", Kind::DirectDebit),
    ("DD", Kind::DirectDebit),
    ("DDR", Kind::DirectDebit),
    ("ACH DEBIT", Kind::DirectDebit),
    ("ACH PMT", Kind::DirectDebit),
    ("AUTOPAY", Kind::DirectDebit),
    ("AUTO PAY", Kind::DirectDebit),
    ("SEPA LASTSCHRIFT", Kind::DirectDebit),
    ("LASTSCHRIFT", Kind::DirectDebit),
    ("BASISLASTSCHRIFT", Kind::DirectDebit),
    ("FOLGELASTSCHRIFT", Kind::DirectDebit),
    ("PRLV SEPA", Kind::DirectDebit),
    ("PRLV", Kind::DirectDebit),
    ("PRELEVEMENT", Kind::DirectDebit),
    ("RECIBO", Kind::DirectDebit),
    ("ADEUDO", Kind::DirectDebit),
    ("INCASSO", Kind::DirectDebit),
    ("ADDEBITO DIRETTO", Kind::DirectDebit),
    ("SDD", Kind::DirectDebit),
    ("ADDEBITO SDD", Kind::DirectDebit),
    ("ADDEBITO", Kind::DirectDebit),
    ("DOMICILIERING", Kind::DirectDebit),
    ("DOMICILIACION", Kind::DirectDebit),
    ("DEBITO DIRECTO", Kind::DirectDebit),
    ("STANDING ORDER", Kind::StandingOrder),
    ("SO", Kind::StandingOrder),
    ("STO", Kind::StandingOrder),
    ("DAUERAUFTRAG", Kind::StandingOrder),
    ("FASTER PAYMENT", Kind::Transfer),
    ("FASTER PAYMENTS", Kind::Transfer),
    ("FPO", Kind::Transfer),
    ("FPI", Kind::Transfer),
    ("FP", Kind::Transfer),
    ("TFR", Kind::Transfer),
    ("TRF", Kind::Transfer),
    ("XFER", Kind::Transfer),
    ("TRANSFER", Kind::Transfer),
    ("ONLINE TRANSFER", Kind::Transfer),
    ("INTERNAL TRANSFER", Kind::Transfer),
    ("BANK TRANSFER", Kind::Transfer),
    ("BILL PAYMENT", Kind::Transfer),
    ("BP", Kind::Transfer),
    ("BGC", Kind::Transfer),
    ("BACS", Kind::Transfer),
    ("CHAPS", Kind::Transfer),
    ("ZELLE", Kind::Transfer),
    ("WIRE", Kind::Transfer),
    ("UEBERWEISUNG", Kind::Transfer),
    ("UBERWEISUNG", Kind::Transfer),
    ("SEPA UEBERWEISUNG", Kind::Transfer),
    ("ECHTZEITUEBERWEISUNG", Kind::Transfer),
    ("GUTSCHRIFT", Kind::Transfer),
    ("VIR SEPA", Kind::Transfer),
    ("VIR", Kind::Transfer),
    ("VIREMENT", Kind::Transfer),
    ("TRANSFERENCIA", Kind::Transfer),
    ("BIZUM", Kind::Transfer),
    ("BONIFICO", Kind::Transfer),
    ("OVERBOEKING", Kind::Transfer),
    ("OVERSCHRIJVING", Kind::Transfer),
    ("OVERFOERSEL", Kind::Transfer),
    ("OVERFORSEL", Kind::Transfer),
    ("UMBUCHUNG", Kind::Transfer),
    ("IDEAL", Kind::CardPurchase),
    ("ATM", Kind::Cash),
    ("ATM WITHDRAWAL", Kind::Cash),
    ("CASH", Kind::Cash),
    ("CASH WITHDRAWAL", Kind::Cash),
    ("CASH DEPOSIT", Kind::Cash),
    ("CASH MACHINE", Kind::Cash),
    ("CPT", Kind::Cash),
    ("CSH", Kind::Cash),
    ("GELDAUTOMAT", Kind::Cash),
    ("BARGELDAUSZAHLUNG", Kind::Cash),
    ("BARGELD", Kind::Cash),
    ("BARGELDEINZAHLUNG", Kind::Cash),
    ("RETRAIT DAB", Kind::Cash),
    ("RETRAIT", Kind::Cash),
    ("DAB", Kind::Cash),
    ("REINTEGRO", Kind::Cash),
    ("BANKOMAT", Kind::Cash),
    ("BANCOMAT", Kind::Cash),
    ("BEZUG", Kind::Cash),
    ("GELDAUTOMAAT OPNAME", Kind::Cash),
    ("CAJERO", Kind::Cash),
    ("PRELIEVO", Kind::Cash),
    ("GELDAUTOMAAT", Kind::Cash),
    ("GEA", Kind::Cash),
    ("FEE", Kind::Fee),
    ("FEES", Kind::Fee),
    ("CHG", Kind::Fee),
    ("CHARGE", Kind::Fee),
    ("CHARGES", Kind::Fee),
    ("SERVICE CHARGE", Kind::Fee),
    ("MONTHLY FEE", Kind::Fee),
    ("OVERDRAFT FEE", Kind::Fee),
    ("NON STERLING TRANSACTION FEE", Kind::Fee),
    ("FOREIGN TRANSACTION FEE", Kind::Fee),
    ("ENTGELT", Kind::Fee),
    ("GEBUEHR", Kind::Fee),
    ("GEBUEHREN", Kind::Fee),
    ("KONTOFUEHRUNG", Kind::Fee),
    ("KONTOFUEHRUNGSGEBUEHR", Kind::Fee),
    ("FRAIS", Kind::Fee),
    ("COTISATION", Kind::Fee),
    ("COMISION", Kind::Fee),
    ("COMMISSIONE", Kind::Fee),
    ("COMMISSIONI", Kind::Fee),
    ("KOSTEN", Kind::Fee),
    ("COMMISSION", Kind::Fee),
    ("CANONE", Kind::Fee),
    ("ABSCHLUSS", Kind::Fee),
    ("INT", Kind::Interest),
    ("INTEREST", Kind::Interest),
    ("INTEREST CHARGED", Kind::Interest),
    ("INTEREST PAID", Kind::Interest),
    ("INTEREST EARNED", Kind::Interest),
    ("ZINSEN", Kind::Interest),
    ("HABENZINSEN", Kind::Interest),
    ("SOLLZINSEN", Kind::Interest),
    ("INTERETS", Kind::Interest),
    ("INTERESES", Kind::Interest),
    ("INTERESSI", Kind::Interest),
    ("ZINSGUTSCHRIFT", Kind::Interest),
    ("RENTE BIJSCHRIJVING", Kind::Interest),
    ("REFUND", Kind::Refund),
    ("REFUNDED", Kind::Refund),
    ("REVERSAL", Kind::Refund),
    ("RETURN", Kind::Refund),
    ("MERCHANDISE RETURN", Kind::Refund),
    ("CREDIT VOUCHER", Kind::Refund),
    ("ERSTATTUNG", Kind::Refund),
    ("RUECKERSTATTUNG", Kind::Refund),
    ("RUECKBUCHUNG", Kind::Refund),
    ("REMBOURSEMENT", Kind::Refund),
    ("AVOIR", Kind::Refund),
    ("CHARGEBACK", Kind::Refund),
    ("DEVOLUCION", Kind::Refund),
    ("RIMBORSO", Kind::Refund),
    ("TERUGBETALING", Kind::Refund),
    ("TERUGSTORTING", Kind::Refund),
    ("SALARY", Kind::Salary),
    ("PAYROLL", Kind::Salary),
    ("WAGES", Kind::Salary),
    ("DIRECT DEP", Kind::Salary),
    ("DIRECT DEPOSIT", Kind::Salary),
    ("DIR DEP", Kind::Salary),
    ("LOHN", Kind::Salary),
    ("GEHALT", Kind::Salary),
    ("LOHN GEHALT", Kind::Salary),
    ("SALAIRE", Kind::Salary),
    ("NOMINA", Kind::Salary),
    ("STIPENDIO", Kind::Salary),
    ("SALARIS", Kind::Salary),
];

/// Words that are noise wherever they stand: connectors of bank phrasing and country codes
/// that follow a city. Removed from the counterparty, kept in `words`.
const NOISE_WORDS: &[&str] = &[
    "TO",
    "FROM",
    "ON",
    "AT",
    "REF",
    "REFERENCE",
    "AUTH",
    "CARD",
    "MANDATE",
    "NO",
    "ID",
    "TXN",
    "TRANSACTION",
    "VIA",
    "PMT",
    "PAYMENT",
    "PAYMENTS",
    "ONLINE",
    "WWW",
    "HTTP",
    "HTTPS",
    "COM",
    "CO",
    "UK",
    "GB",
    "US",
    "USA",
    "DE",
    "FR",
    "NL",
    "ES",
    "IT",
    "IE",
    "BE",
    "AT",
    "CH",
    "SE",
    "DK",
    "NO",
    "FI",
    "PL",
    "PT",
    "GBR",
    "DEU",
    "FRA",
    "NLD",
    "ESP",
    "ITA",
    "IRL",
    "EUR",
    "GBP",
    "USD",
    "CHF",
    "SEPA",
    "IBAN",
    "BIC",
    "END",
    "ENDTOEENDREF",
    "EREF",
    "MREF",
    "CRED",
    "SVWZ",
    "KREF",
    "ABWA",
    "NR",
    "DATUM",
    "UHR",
    "INC",
    "LTD",
    "LLC",
    "PLC",
    "GMBH",
    "SA",
    "SAS",
    "BV",
    "NV",
    "AG",
    "SPA",
    "SRL",
    "SL",
    "KG",
    "THE",
    "APPLEPAY",
    "CONTACTLESS",
    "PENDING",
    "DEBIT",
    "CREDIT",
    "PURCHASE",
    "INTL",
    "INTERNATIONAL",
    "VISA",
    "MASTERCARD",
    "MC",
    "AMEX",
    "KENMERK",
    "ALGEMEEN",
    "DOORLOPEND",
    "TIL",
    "PPD",
    "FIL",
    "AN",
    "DU",
    "LE",
    "AU",
    "ZA",
    "AV",
    "NUMBER",
    "DEL",
    "EN",
    "CON",
    "DI",
    "PRESSO",
    "ALLE",
    "ORE",
    "CARTA",
    "TARJ",
    "TARJETA",
    "BEI",
    "IHR",
    "EINKAUF",
    "FUER",
    "VON",
    "MET",
    "VAN",
    "NAAM",
    "OMSCHRIJVING",
    "MACHTIGING",
    "INCASSANT",
    "WEB",
];

/// US state and Canadian province codes, dropped when they close the description.
const REGIONS: &[&str] = &[
    "AL", "AK", "AZ", "AR", "CA", "CO", "CT", "DC", "DE", "FL", "GA", "HI", "ID", "IL", "IN", "IA",
    "KS", "KY", "LA", "ME", "MD", "MA", "MI", "MN", "MS", "MO", "MT", "NE", "NV", "NH", "NJ", "NM",
    "NY", "NC", "ND", "OH", "OK", "OR", "PA", "RI", "SC", "SD", "TN", "TX", "UT", "VT", "VA", "WA",
    "WV", "WI", "WY", "ON", "QC", "BC", "AB", "MB", "NS",
];

/// Month names and abbreviations (dates in descriptions are noise).
const MONTHS: &[&str] = &[
    "JAN",
    "FEB",
    "MAR",
    "APR",
    "MAY",
    "JUN",
    "JUL",
    "AUG",
    "SEP",
    "SEPT",
    "OCT",
    "NOV",
    "DEC",
    "JANUARY",
    "FEBRUARY",
    "MARCH",
    "APRIL",
    "JUNE",
    "JULY",
    "AUGUST",
    "SEPTEMBER",
    "OCTOBER",
    "NOVEMBER",
    "DECEMBER",
];

/// True for a word that is a code, a number or a card mask rather than a name: all digits,
/// letters and digits interleaved ("2K4AB12C3", "S384072123456789"), or a mask ("XXXX"). Names
/// with digits keep: letters then digits or digits then letters ("BET365", "7ELEVEN", "O2").
pub(crate) fn is_code(word: &str) -> bool {
    let bytes = word.as_bytes();
    let digits = bytes.iter().filter(|b| b.is_ascii_digit()).count();
    if digits == 0 {
        return word.len() >= 4 && bytes.iter().all(|b| *b == b'X');
    }
    if digits == bytes.len() {
        return true;
    }
    // Runs of letters and digits: a name has at most two.
    let runs =
        1 + bytes.windows(2).filter(|w| w[0].is_ascii_digit() != w[1].is_ascii_digit()).count();
    runs > 2 || digits > 4
}

/// True for a word the cleaner drops from counterparties: connectors, legal forms, country and
/// currency codes, card words, codes and month names.
pub(crate) fn is_noise(word: &str) -> bool {
    NOISE_WORDS.contains(&word) || is_code(word) || MONTHS.contains(&word)
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
    let folded = fold(cut);
    let words = words_of(&folded);
    let (kind, phrase_spans) = kind_of(&words);

    // The counterparty: words minus bank phrases, noise, codes, dates and a closing region.
    let mut keep: Vec<bool> = vec![true; words.len()];
    for (a, b) in &phrase_spans {
        for k in keep.iter_mut().take(*b).skip(*a) {
            *k = false;
        }
    }
    for (i, w) in words.iter().enumerate() {
        if is_noise(w) {
            keep[i] = false;
        }
    }
    // A payee marker ("NAAM:", "EINKAUF BEI", "PRESSO"): the counterparty starts after it.
    if let Some(after) = payee_marker(&words) {
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

    let mut intermediary = None;
    let mut start = 0;
    let kept: Vec<&str> =
        (0..words.len()).filter(|&i| keep[i]).map(|i| words[i].as_str()).collect();
    // Platforms first (the platform is the merchant), then processors. An unknown prefix before
    // a `*` stays: it is as often the merchant ("MTA*NYCT") as a processor code.
    if let Some((_, name)) = prefix_match(&kept, PLATFORMS) {
        intermediary =
            Some(Intermediary { name: name.to_owned(), role: IntermediaryRole::Platform });
    } else if let Some((len, name)) = prefix_match(&kept, PROCESSORS) {
        // A processor alone ("PAYPAL") is the counterparty itself.
        if kept.len() > len {
            intermediary =
                Some(Intermediary { name: name.to_owned(), role: IntermediaryRole::Processor });
            start = len;
        }
    }
    let counterparty: Vec<String> = kept[start..].iter().map(|w| (*w).to_owned()).take(8).collect();
    Descriptor { raw: raw.to_owned(), kind, intermediary, counterparty, words }
}

/// Two- and three-letter codes that are bank phrasing only at the start or end of a line; in
/// the middle they are more often part of a name. Longer phrases (and FEE, ATM) count anywhere.
fn ambiguous(phrase: &[&str]) -> bool {
    phrase.len() == 1 && phrase[0].len() <= 3 && !matches!(phrase[0], "FEE" | "ATM")
}

/// How strongly a purpose kind says what a line is: a fee that mentions a cash machine is a fee.
fn purpose_rank(kind: Kind) -> u8 {
    match kind {
        Kind::Fee => 5,
        Kind::Interest => 4,
        Kind::Refund => 3,
        Kind::Salary => 2,
        Kind::Cash => 1,
        _ => 0,
    }
}

/// The kind of a line and the spans of the bank phrases found in it. What the movement is for
/// (fee, interest, refund, salary, cash) wins over how it moved (card, direct debit, standing
/// order, transfer); among channels the longest phrase wins.
fn kind_of(words: &[String]) -> (Kind, Vec<(usize, usize)>) {
    let mut spans = Vec::new();
    let (mut channel, mut channel_len) = (Kind::Unknown, 0);
    let mut purpose = Kind::Unknown;
    for (phrase, k) in PHRASES {
        let wanted = phrase_words(phrase);
        for start in 0..words.len() {
            let end = start + wanted.len();
            if end > words.len() || !words[start..end].iter().zip(&wanted).all(|(a, b)| a == b) {
                continue;
            }
            let edge = start == 0 || end == words.len();
            if ambiguous(&wanted) && !edge {
                continue;
            }
            spans.push((start, end));
            if purpose_rank(*k) > 0 {
                if purpose_rank(*k) > purpose_rank(purpose) {
                    purpose = *k;
                }
            } else if wanted.len() > channel_len {
                channel_len = wanted.len();
                channel = *k;
            }
        }
    }
    (if purpose == Kind::Unknown { channel } else { purpose }, spans)
}

/// Words after which a line names its payee.
const PAYEE_MARKERS: &[&str] =
    &["NAAM", "EINKAUF BEI", "PRESSO", "PAGO CON TARJETA EN", "COMPRA EN", "ACHAT CHEZ"];

/// Labels of structured fields (SEPA exports) that end a payee's name.
const FIELD_LABELS: &[&str] = &[
    "OMSCHRIJVING",
    "MACHTIGING",
    "IBAN",
    "BIC",
    "KENMERK",
    "INCASSANT",
    "EREF",
    "MREF",
    "CRED",
    "SVWZ",
    "ABWA",
    "KREF",
    "REF",
    "MANDATO",
    "CID",
];

/// The index of the first word after a payee marker.
fn payee_marker(words: &[String]) -> Option<usize> {
    PAYEE_MARKERS.iter().find_map(|marker| {
        let wanted = phrase_words(marker);
        (0..words.len())
            .find(|&i| {
                i + wanted.len() <= words.len()
                    && words[i..i + wanted.len()].iter().zip(&wanted).all(|(a, b)| a == b)
            })
            .map(|i| i + wanted.len())
            .filter(|&after| after < words.len())
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
mod tests {
    use super::*;

    #[test]
    fn processors_noise_and_kind_come_apart() {
        let d = parse("SQ *BLUE BOTTLE COFFEE San Francisco CA");
        assert_eq!(d.intermediary.as_ref().map(|i| i.name.as_str()), Some("Square"));
        assert_eq!(d.counterparty_text(), "BLUE BOTTLE COFFEE SAN FRANCISCO");
        let d = parse("CARD PAYMENT TO TESCO STORES 3297 ON 12 MAR");
        assert_eq!(d.kind, Kind::CardPurchase);
        assert_eq!(d.counterparty_text(), "TESCO STORES");
        let d = parse("PURCHASE AUTHORIZED ON 03/12 STARBUCKS STORE 0612 SEATTLE WA CARD 1234");
        assert_eq!(d.kind, Kind::CardPurchase);
        assert_eq!(d.counterparty_text(), "STARBUCKS STORE SEATTLE");
        let d = parse("DOORDASH*CHIPOTLE 855-431-0459 CA");
        assert_eq!(d.intermediary.map(|i| i.role), Some(IntermediaryRole::Platform));
        let d = parse("SEPA-Lastschrift Überweisung");
        assert_eq!(d.words, ["SEPA", "LASTSCHRIFT", "UEBERWEISUNG"]);
    }

    #[test]
    fn tokens_not_substrings() {
        let d = parse("TRANSFER FROM CURRENT ACCT");
        assert_eq!(d.kind, Kind::Transfer);
        assert!(!d.has_word("RENT"));
        assert!(parse("SHELLFISH SHACK").counterparty == ["SHELLFISH", "SHACK"]);
    }

    #[test]
    fn bad_input_never_panics() {
        for raw in ["", "   ", "🙂🙂🙂", "\u{fffd}\u{fffd}", &"A".repeat(10_000), "*", "**", "* *"]
        {
            let d = parse(raw);
            assert!(d.counterparty.len() <= 8);
        }
    }
}
