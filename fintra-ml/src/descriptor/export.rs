//! Rows of well-known CSV exports whose columns are known. A row pasted whole into a
//! description would have its account, dates, state and balance read as words ("Current" as a
//! brand, "Your Cash" as cash, the account holder's own name as the payee); the row is narrowed
//! to its type, counterparty and reference before it is parsed.
//!
//! | export | columns used |
//! |---|---|
//! | Revolut (any language) | `Type`, `Description` |
//! | Chase, Capital One card downloads | `Type` (Chase), `Description` |
//! | Monzo | `Type`, `Name` |
//! | Venmo | `Type`, `From`, `To` |
//! | Cash App | `Transaction Type`, `Name of sender/receiver` |
//! | PayPal activity | `Name` (behind PayPal) |
//! | German cooperative banks (Volksbank, Raiffeisenbank) | `Buchungstext`, `Name Zahlungsbeteiligter`, `Verwendungszweck` |
//! | DKB | the payee or payer (by `Umsatztyp`), `Verwendungszweck` |
//! | Sparkasse (CAMT) | `Buchungstext`, `Beguenstigter/Zahlungspflichtiger` (without its city), `Verwendungszweck` |
//! | Fidelity account history | `Action`, without its core position |
//! | KBC | `Omschrijving`, `Naam tegenpartij`, `Vrije mededeling` |
//! | app histories joined by `·`, between people, by bank transfer, into a savings space or with the app's card | the other party |

/// Revolut's transaction types (`Type` column, English export).
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

/// Revolut's products (`Product` column), in the languages it exports.
const REVOLUT_PRODUCTS: &[&str] = &[
    "CURRENT",
    "SAVINGS",
    "DEPOSIT",
    "POCKET",
    "ACTUAL",
    "AHORROS",
    "CORRENTE",
    "RISPARMI",
    "COURANT",
    "ÉPARGNE",
    "GIROKONTO",
    "HUIDIG",
    "BIEŻĄCE",
];

/// The type, counterparty and reference of a known export's row, or `None` for any other
/// text.
pub(super) fn known_row(raw: &str) -> Option<String> {
    if raw.contains('·') {
        return app_history(raw);
    }
    let upper = super::fold(raw);
    if let Some(line) = verb_first(&upper).or_else(|| labelled(&upper)) {
        return Some(line);
    }
    // Every known export has at least six columns: most lines are not rows at all.
    if raw.matches([',', ';']).count() < 5 {
        return None;
    }
    let fields = split_row(raw);
    let f: Vec<&str> = fields.iter().map(String::as_str).collect();
    revolut(&f)
        .or_else(|| card_export(&f))
        .or_else(|| monzo(&f))
        .or_else(|| venmo(&f))
        .or_else(|| cash_app(&f))
        .or_else(|| paypal(&f))
        .or_else(|| cooperative_bank(&f))
        .or_else(|| dkb(&f))
        .or_else(|| sparkasse_camt(&f))
        .or_else(|| fidelity(&f))
        .or_else(|| kbc(&f))
        .map(|row| row.split_whitespace().collect::<Vec<_>>().join(" "))
}

/// How app histories name a payment between people, and a move into one's own savings space.
const SENT: &[&str] = &[
    "SENT",
    "PAID",
    "YOU PAID",
    "PAYMENT SENT",
    "GELD GESENDET",
    "TWINT GELD GESENDET",
    "ENVIADO",
];
const RECEIVED: &[&str] = &[
    "RECEIVED",
    "PAYMENT RECEIVED",
    "GELD ERHALTEN",
    "TWINT GELD ERHALTEN",
    "PAIEMENT RECU",
    "VIREMENT RECU",
    "VIREMENT INSTANTANE RECU",
    "RECIBIDO",
];
const SAVED: &[&str] =
    &["MOVED TO SPACE", "MOVED TO POT", "ADDED TO POT", "MOVED TO VAULT", "MOVED TO SAVINGS"];
/// A bank transfer whose direction the amount tells ("Tim Hoffmann · Überweisung · WG
/// Nebenkosten", "S AHMED · CURRY NIGHT · Mobile payment").
const TRANSFERRED: &[&str] = &[
    "MOBILE PAYMENT",
    "FASTER PAYMENT",
    "BANK TRANSFER",
    "UEBERWEISUNG",
    "VIREMENT",
    "BONIFICO",
    "TRANSFERENCIA",
    "OVERBOEKING",
    "PRZELEW",
];
/// An outgoing bank transfer ("VIREMENT EMIS · Vers M. LUCAS MOREAU · Remboursement weekend").
const TRANSFERRED_OUT: &[&str] = &["VIREMENT EMIS", "VIREMENT INSTANTANE EMIS"];
/// A purchase with the app's own card ("Chick-fil-A · Cash Card · Mar 6": Cash App's card,
/// which is no cash).
const CARD: &[&str] =
    &["CASH CARD", "CARD", "CARD PAYMENT", "TWINT ZAHLUNG", "TWINT PAYMENT", "TWINT PAIEMENT"];
/// Words of a bank transfer's note that say what it pays (rent, wages, savings): such a line is
/// read whole.
const NOTE_PURPOSES: &[&str] = &[
    "RENT", "MIETE", "LOYER", "HUUR", "ALQUILER", "AFFITTO", "CZYNSZ", "NAJEM", "GEHALT", "LOHN",
    "SALAIRE", "SALARIS", "SALARY", "NOMINA", "SAVINGS",
];
/// Words that open a part holding a date, a day or a state rather than a party.
const NOT_A_PARTY: &[&str] = &[
    "MON",
    "TUE",
    "WED",
    "THU",
    "FRI",
    "SAT",
    "SUN",
    "MO",
    "DI",
    "MI",
    "DO",
    "FR",
    "SA",
    "SO",
    "TODAY",
    "YESTERDAY",
    "PENDING",
    "HEUTE",
    "GESTERN",
];

/// A part that is a date, a day, a state or an amount ("Mar 6", "Yesterday", "−£25.00").
fn not_a_party(part: &str) -> bool {
    let first: String =
        part.split(|c: char| !c.is_alphanumeric()).next().unwrap_or_default().to_uppercase();
    part.starts_with(|c: char| c.is_ascii_digit() || "+-−£$€".contains(c))
        || NOT_A_PARTY.contains(&first.as_str())
        || super::lexicon::MONTHS.contains(&first.as_str())
}

/// An app's history line, parts joined by `·` ("Sarah Okafor · Sent · Ref: cinema + dinner ·
/// -£25.00", "Virement reçu · THOMAS GIRAUD · remboursement resto", "Holiday · Moved to Space
/// · 31 Mar"). Between people, the note is theirs and says nothing about a business: only the
/// other party is kept. Any other app line is left whole.
fn app_history(raw: &str) -> Option<String> {
    let parts: Vec<&str> = raw.split('·').map(str::trim).filter(|p| !p.is_empty()).collect();
    // Matched folded, so that accents printed or not read alike ("Virement reçu", "VIREMENT
    // RECU").
    let upper: Vec<String> = parts.iter().map(|p| super::fold(p)).collect();
    let find = |list: &[&str]| upper.iter().position(|p| list.contains(&p.as_str()));
    // The other party opens the line, or follows the type when the type comes first; a line
    // that opens with its date or its amount names the party just before the type.
    let party = |at: usize| match at {
        0 => parts.get(1),
        _ if not_a_party(parts[0]) => parts.get(at - 1),
        _ => parts.first(),
    };
    if let Some(at) = find(SAVED) {
        return party(at).map(|pot| format!("TRANSFER TO SAVINGS {pot}"));
    }
    if let Some(at) = find(SENT) {
        return party(at).map(|name| format!("TRANSFER TO {name}"));
    }
    if let Some(at) = find(RECEIVED) {
        return party(at).map(|name| format!("TRANSFER FROM {name}"));
    }
    // A bank transfer: the amount tells its direction unless the type does. Its note may say
    // what it pays ("J MORGAN · Faster payment · Rent March"): then the line is read whole.
    let transfer = find(TRANSFERRED_OUT)
        .map(|at| (at, "TRANSFER TO"))
        .or_else(|| find(TRANSFERRED).map(|at| (at, "TRANSFER")));
    if let Some((at, verb)) = transfer {
        let pays = upper
            .iter()
            .any(|p| p.split(|c: char| !c.is_alphanumeric()).any(|w| NOTE_PURPOSES.contains(&w)));
        return if pays { None } else { party(at).map(|name| format!("{verb} {name}")) };
    }
    if let Some(at) = find(CARD) {
        return party(at).map(|shop| format!("CARD PURCHASE {shop}"));
    }
    // N26 moves money into and out of its Spaces ("Auf Space "Urlaub" verschoben").
    for (prefix, verb) in [("AUF SPACE ", "TO"), ("VON SPACE ", "FROM")] {
        if let Some(space) = upper
            .iter()
            .find_map(|p| p.strip_prefix(prefix).and_then(|r| r.strip_suffix(" VERSCHOBEN")))
        {
            return Some(format!("TRANSFER {verb} SAVINGS {space}"));
        }
    }
    // The verb may follow the app's name ("TWINT · Envoi d'argent à Marc Dubois · Apéro").
    verb_first(upper.first()?).or_else(|| {
        let single_word = !upper.first()?.contains(char::is_whitespace);
        single_word.then(|| verb_first(upper.get(1)?)).flatten()
    })
}

/// A statement downloaded as labelled text ("Date: 08/03/2024 Description: CARD PAYMENT TO
/// TESCO STORES 2817 Amount: -42.18 Balance: 1161.29"): only the description. `line` is folded
/// ([`super::fold`]).
fn labelled(line: &str) -> Option<String> {
    let (_, rest) = line.split_once("DESCRIPTION:")?;
    let end = ["AMOUNT:", "BALANCE:"].iter().filter_map(|l| rest.find(l)).min()?;
    Some(rest[..end].trim().to_owned())
}

/// Lydia and French apps put the verb in the party's part ("Vous avez payé Thomas L.", "Sarah
/// B. vous a payé", "Vous avez reçu 18,50 € de Camille R.", "Paiement à Thomas B. - Places
/// concert"), with or without other parts after it. `line` is folded ([`super::fold`]): accents
/// printed or not read alike.
fn verb_first(line: &str) -> Option<String> {
    let part = line.split('·').next()?.trim().replace('’', "'");
    let part = part.as_str();
    if let Some(name) = part.strip_prefix("VOUS AVEZ PAYE ") {
        return Some(format!("TRANSFER TO {name}"));
    }
    if let Some((_, name)) =
        part.strip_prefix("VOUS AVEZ RECU ").and_then(|rest| rest.split_once(" DE "))
    {
        return Some(format!("TRANSFER FROM {name}"));
    }
    // The note after " - " is the payer's own words.
    if let Some(rest) = part.strip_prefix("PAIEMENT A ") {
        let name = rest.split_once(" - ").map_or(rest, |(name, _)| name);
        return Some(format!("TRANSFER TO {name}"));
    }
    // Tikkie: "Je hebt € 8,75 betaald aan Daan Visser voor 'Bioscoop'".
    if let Some((_, rest)) =
        part.strip_prefix("JE HEBT ").and_then(|rest| rest.split_once(" BETAALD AAN "))
    {
        let name = rest.split_once(" VOOR ").map_or(rest, |(name, _)| name);
        return Some(format!("TRANSFER TO {name}"));
    }
    // TWINT names the other party after its verb, in the app's language.
    for (verb, direction) in [
        ("ENVOI D'ARGENT A ", "TO"),
        ("ARGENT RECU DE ", "FROM"),
        ("GELD GESENDET AN ", "TO"),
        ("GELD ERHALTEN VON ", "FROM"),
        ("DENARO INVIATO A ", "TO"),
        ("DENARO RICEVUTO DA ", "FROM"),
    ] {
        if let Some(name) = part.strip_prefix(verb) {
            return Some(format!("TRANSFER {direction} {name}"));
        }
    }
    // "Sarah B. vous a payé", "Camille M. vous a remboursé 18,50 €".
    [" VOUS A PAYE", " VOUS A REMBOURSE", " VOUS A ENVOYE"]
        .iter()
        .find_map(|verb| part.split_once(verb).map(|(name, _)| format!("TRANSFER FROM {name}")))
}

/// The fields of one CSV row: `,` or `;` (whichever appears more often outside quotes),
/// double quotes with `""` inside, and a spreadsheet's leading `'` dropped.
fn split_row(raw: &str) -> Vec<String> {
    let outside = |delimiter: char| {
        let mut quoted = false;
        raw.chars()
            .filter(|&c| {
                if c == '"' {
                    quoted = !quoted;
                }
                c == delimiter && !quoted
            })
            .count()
    };
    let delimiter = if outside(';') > outside(',') { ';' } else { ',' };
    let (mut out, mut field, mut quoted) = (Vec::new(), String::new(), false);
    let mut chars = raw.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '"' if quoted && chars.peek() == Some(&'"') => {
                field.push('"');
                chars.next();
            }
            '"' => quoted = !quoted,
            c if c == delimiter && !quoted => out.push(std::mem::take(&mut field)),
            c => field.push(c),
        }
    }
    out.push(field);
    out.iter().map(|f| f.trim().trim_start_matches('\'').trim().to_owned()).collect()
}

/// A date at the start of a column ("2024-03-17 23:58:41", "03/15/2024", "12.03.24").
fn dated(field: &str) -> bool {
    let b = field.as_bytes();
    b.len() >= 8
        && b.iter().take(8).all(|c| c.is_ascii_digit() || matches!(c, b'-' | b'/' | b'.'))
        && b.iter().take(4).filter(|c| c.is_ascii_digit()).count() >= 2
}

/// An IBAN: two letters, two check digits, then at least eleven letters or digits.
fn iban(field: &str) -> bool {
    let b = field.as_bytes();
    b.len() >= 15
        && b[..2].iter().all(u8::is_ascii_uppercase)
        && b[2..4].iter().all(u8::is_ascii_digit)
        && b.iter().all(u8::is_ascii_alphanumeric)
}

/// Revolut: `Type,Product,Started Date,Completed Date,Description,Amount,Fee,Currency,State,
/// Balance`, in English or translated ("Pago con tarjeta,Actual,…"). An unquoted description
/// may hold commas: the five closing columns are counted from the end.
fn revolut(f: &[&str]) -> Option<String> {
    if f.len() < 10 || !dated(f[2]) || !dated(f[3]) {
        return None;
    }
    let kind = f[0].to_uppercase();
    let product = f[1].to_uppercase();
    if !REVOLUT_TYPES.contains(&kind.as_str()) && !REVOLUT_PRODUCTS.contains(&product.as_str()) {
        return None;
    }
    let description = f[4..f.len() - 5].join(",");
    Some(format!("{} {description}", kind.replace('_', " ")))
}

/// US card issuers' downloads, whose category column is the issuer's own guess:
/// Chase (`Transaction Date,Post Date,Description,Category,Type,Amount,Memo`, the type `Sale`,
/// `Return`, `Payment`, `Fee` or `Adjustment`) and Capital One (`Transaction Date,Posted
/// Date,Card No.,Description,Category,Debit,Credit`).
fn card_export(f: &[&str]) -> Option<String> {
    if f.len() < 6 || !dated(f[0]) || !dated(f[1]) {
        return None;
    }
    let chase = match f[4].to_ascii_uppercase().as_str() {
        "SALE" => Some("CARD PURCHASE"),
        "RETURN" => Some("RETURN"),
        "FEE" => Some("FEE"),
        "PAYMENT" | "ADJUSTMENT" => Some(""),
        _ => None,
    };
    if let Some(kind) = chase {
        return Some(format!("{kind} {}", f[2]));
    }
    // Capital One: a row with a credit and no debit is a payment or a refund, not a purchase.
    let card = f[2].len() == 4 && f[2].bytes().all(|b| b.is_ascii_digit());
    let credit = f.len() >= 7 && f[5].is_empty() && !f[6].is_empty();
    card.then(|| format!("{} {}", if credit { "" } else { "CARD PURCHASE" }, f[3]))
}

/// Monzo: `Transaction ID,Date,Time,Type,Name,Emoji,Category,Amount,…` (ids start `tx_`).
fn monzo(f: &[&str]) -> Option<String> {
    (f.len() >= 8 && f[0].starts_with("tx_") && dated(f[1])).then(|| format!("{} {}", f[3], f[4]))
}

/// Venmo: `,ID,Datetime,Type,Status,Note,From,To,Amount (total),…`. A payment or charge goes
/// between two people (the note is the payer's own words); a merchant transaction pays a shop.
fn venmo(f: &[&str]) -> Option<String> {
    let id = |s: &str| s.len() >= 10 && s.bytes().all(|b| b.is_ascii_digit());
    if f.len() < 9 || !id(f[1]) || !dated(f[2]) {
        return None;
    }
    match f[3].to_ascii_uppercase().as_str() {
        "PAYMENT" | "CHARGE" => Some(format!("TRANSFER {} {}", f[6], f[7])),
        "MERCHANT TRANSACTION" => Some(format!("CARD PURCHASE {}", f[7])),
        _ => None,
    }
}

/// Cash App: `Transaction ID,Date,Transaction Type,Currency,Amount,Fee,Net Amount,Asset Type,
/// Asset Price,Asset Amount,Account,Notes,Name of sender/receiver,Status` (the account is
/// "Your Cash", which is no cash).
fn cash_app(f: &[&str]) -> Option<String> {
    if f.len() < 13 || !dated(f[1]) {
        return None;
    }
    match f[2].to_ascii_uppercase().as_str() {
        "P2P" => Some(format!("TRANSFER {}", f[12])),
        "SENT P2P" => Some(format!("TRANSFER TO {}", f[12])),
        "RECEIVED P2P" => Some(format!("TRANSFER FROM {}", f[12])),
        // A card charge may name the shop in the notes, with no sender or receiver.
        "CASH CARD" | "CASH CARD DEBIT" => {
            let shop = if f[12].is_empty() { f[11] } else { f[12] };
            Some(format!("CARD PURCHASE {shop}"))
        }
        _ => None,
    }
}

/// PayPal's activity download: `Date,Time,Time zone,Name,Type,Status,Currency,Gross,…`.
fn paypal(f: &[&str]) -> Option<String> {
    let time = |s: &str| s.len() == 8 && s.as_bytes()[2] == b':' && s.as_bytes()[5] == b':';
    let zone = |s: &str| {
        s.contains('/')
            || (!s.is_empty() && s.len() <= 4 && s.bytes().all(|b| b.is_ascii_uppercase()))
    };
    if f.len() < 8 || !dated(f[0]) || !time(f[1]) || !zone(f[2]) || f[3].is_empty() {
        return None;
    }
    // The type column says when money came back ("Rückzahlung", "Refund", "Remboursement"),
    // when it went between people ("General Payment", "Allgemeine Zahlung"; the gross column
    // tells the direction) and when it was given ("Donation Payment").
    let kind = f[4].to_uppercase();
    let refund = ["REFUND", "RÜCKZAHLUNG", "ERSTATTUNG", "REMBOURSEMENT", "REEMBOLSO", "RIMBORSO"]
        .iter()
        .any(|w| kind.contains(w));
    let between_people = ["GENERAL PAYMENT", "ALLGEMEINE ZAHLUNG", "PAIEMENT GÉNÉRAL"]
        .iter()
        .any(|w| kind.contains(w));
    if between_people {
        let verb = if f[7].trim().starts_with('-') { "TRANSFER TO" } else { "TRANSFER FROM" };
        return Some(format!("{verb} {}", f[3]));
    }
    let donation = kind.contains("DONATION") || kind.contains("SPENDE");
    let what = if donation { " DONATION" } else { "" };
    Some(format!("{}PAYPAL *{}{what}", if refund { "REFUND " } else { "" }, f[3]))
}

/// German cooperative banks: `Bezeichnung Auftragskonto;IBAN Auftragskonto;BIC;Bankname;
/// Buchungstag;Valutadatum;Name Zahlungsbeteiligter;IBAN;BIC;Buchungstext;Verwendungszweck;…`
/// (the account's own bank is no payee).
fn cooperative_bank(f: &[&str]) -> Option<String> {
    (f.len() >= 11 && iban(f[1]) && dated(f[4]) && dated(f[5]))
        .then(|| format!("{} {} {}", f[9], f[6], f[10]))
}

/// DKB: `Buchungsdatum;Wertstellung;Status;Zahlungspflichtige*r;Zahlungsempfänger*in;
/// Verwendungszweck;Umsatztyp;…`: the other party is the payee of an `Ausgang`, the payer of
/// an `Eingang` (the other column holds the account holder's own name).
fn dkb(f: &[&str]) -> Option<String> {
    let status = |s: &str| matches!(s.to_ascii_uppercase().as_str(), "GEBUCHT" | "VORGEMERKT");
    if f.len() < 7 || !dated(f[0]) || !dated(f[1]) || !status(f[2]) {
        return None;
    }
    let other = if f[6].eq_ignore_ascii_case("Eingang") { f[3] } else { f[4] };
    Some(format!("{other} {}", f[5]))
}

/// Sparkasse's CAMT export: `Auftragskonto;Buchungstag;Valutadatum;Buchungstext;
/// Verwendungszweck;Glaeubiger ID;Mandatsreferenz;Kundenreferenz;Sammlerreferenz;
/// Lastschrift Ursprungsbetrag;Auslagenersatz Ruecklastschrift;Beguenstigter/Zahlungspflichtiger;
/// Kontonummer/IBAN;BIC;Betrag;Waehrung;Info`. The other party's BIC and the booking's state
/// ("Umsatz gebucht") are no words of the payment; a card payment names its shop as
/// `NAME//CITY/COUNTRY`.
fn sparkasse_camt(f: &[&str]) -> Option<String> {
    let currency = |c: &str| c.len() == 3 && c.bytes().all(|b| b.is_ascii_uppercase());
    if f.len() < 16 || !iban(f[0]) || !dated(f[1]) || !dated(f[2]) || !currency(f[15]) {
        return None;
    }
    let party = f[11].split_once("//").map_or(f[11], |(name, _)| name);
    Some(format!("{} {party} {}", f[3], f[4]))
}

/// Fidelity's account history: `Run Date,Action,Symbol,Security Description,Security Type,
/// Quantity,Price,Commission,Fees,Accrued Interest,Amount,Settlement Date`. The action closes
/// with the account's core position ("(Cash)", "(Margin)"), and the security type says `Cash`
/// for a card purchase or a bill paid from it: neither is cash.
fn fidelity(f: &[&str]) -> Option<String> {
    if f.len() < 11 || !dated(f[0]) {
        return None;
    }
    let action = f[1].to_uppercase();
    let core = ["(CASH)", "(MARGIN)"].iter().find_map(|c| action.strip_suffix(c))?;
    Some(core.trim().to_owned())
}

/// KBC: `Rekeningnummer;Rubrieknaam;Naam;Munt;Afschriftnummer;Datum;Omschrijving;Valuta;
/// Bedrag;Saldo;credit;debet;rekeningnummer tegenpartij;BIC tegenpartij;Naam tegenpartij;
/// Adres tegenpartij;gestructureerde mededeling;Vrije mededeling` (the account's name and
/// holder are no payee).
fn kbc(f: &[&str]) -> Option<String> {
    let account = f.first()?.replace(' ', "");
    let currency = |s: &str| s.len() == 3 && s.bytes().all(|b| b.is_ascii_uppercase());
    if f.len() < 10 || !iban(&account) || !currency(f[3]) || !dated(f[5]) || !dated(f[7]) {
        return None;
    }
    let other = |i: usize| f.get(i).copied().unwrap_or_default();
    Some(format!("{} {} {}", f[6], other(14), other(17)))
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
        let spanish = "Pago con tarjeta,Actual,2024-05-03 21:14:07,2024-05-04 09:02:11,Glovo,-23.80,0.00,EUR,COMPLETADO,312.44";
        assert_eq!(known_row(spanish).as_deref(), Some("PAGO CON TARJETA Glovo"));
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
    fn app_exports_keep_the_other_party() {
        let monzo = r#"tx_00009x,04/01/2025,12:01:09,Card payment,Pret A Manger,☕,Eating out,-6.45,GBP,-6.45,GBP,,"1 Station Rd, Leeds",,PRET A MANGER LEEDS,,6.45,"#;
        assert_eq!(known_row(monzo).as_deref(), Some("Card payment Pret A Manger"));
        let venmo = ",4011223344556677889,2025-01-07T19:02:11,Payment,Complete,🍕 pizza,Dana Cole,Sam Ortiz,- $18.00,,,,,,Venmo balance,,,";
        assert_eq!(known_row(venmo).as_deref(), Some("TRANSFER Dana Cole Sam Ortiz"));
        let cash = "a1b2c3,2025-01-08 10:00:00 EST,P2P,USD,$20.00,$0,$20.00,,,,Your Cash,lunch,Lee Park,PAYMENT RECEIVED";
        assert_eq!(known_row(cash).as_deref(), Some("TRANSFER Lee Park"));
        let paypal = r#""09.03.2024","21:14:37","Europe/Berlin","Cyberport GmbH","PayPal Express-Zahlung","Abgeschlossen","EUR","-149,00""#;
        assert_eq!(known_row(paypal).as_deref(), Some("PAYPAL *Cyberport GmbH"));
    }

    #[test]
    fn german_bank_exports_name_the_other_party_not_the_holder() {
        let volksbank = "Girokonto;DE62600901000123456789;VOBADESSXXX;Volksbank Stuttgart eG;12.03.2024;12.03.2024;KAUFLAND STUTTGART;DE02300209000106531065;CMCIDEDD;Kartenzahlung;2024-03-11 Debitk.4;-41,20;EUR";
        assert_eq!(
            known_row(volksbank).as_deref(),
            Some("Kartenzahlung KAUFLAND STUTTGART 2024-03-11 Debitk.4")
        );
        let dkb = r#""21.03.24";"21.03.24";"Gebucht";"Jonas Weber";"LIEFERANDO.DE";"2024-03-20 Debitk.25 VISA Debit";"Ausgang";"";"-27,9";"";"";"461209876543""#;
        assert_eq!(
            known_row(dkb).as_deref(),
            Some("LIEFERANDO.DE 2024-03-20 Debitk.25 VISA Debit")
        );
    }

    #[test]
    fn a_sparkasse_row_names_the_shop_without_its_city_bic_or_state() {
        let row = r#""DE20100500000190358217";"03.03.25";"03.03.25";"KARTENZAHLUNG";"2025-03-01T09:42 Debitk.7 2027-09";"";"";"";"";"";"";"Baeckerei Schmidt//Berlin/DE";"DE04700202700015642871";"HYVEDEMMXXX";"-11,40";"EUR";"Umsatz gebucht""#;
        assert_eq!(
            known_row(row).as_deref(),
            Some("KARTENZAHLUNG Baeckerei Schmidt 2025-03-01T09:42 Debitk.7 2027-09")
        );
    }

    #[test]
    fn app_histories_between_people_keep_only_the_other_party() {
        let sent = "Sarah Okafor · Sent · Ref: cinema + dinner · -£25.00";
        assert_eq!(known_row(sent).as_deref(), Some("TRANSFER TO Sarah Okafor"));
        let french = "Virement reçu · THOMAS GIRAUD · remboursement resto vendredi · +25,00 €";
        assert_eq!(known_row(french).as_deref(), Some("TRANSFER FROM THOMAS GIRAUD"));
        let lydia = "Vous avez payé Thomas L. · pizza jeudi 🍕 · -14,50 €";
        assert_eq!(known_row(lydia).as_deref(), Some("TRANSFER TO THOMAS L."));
        // Accents printed or not read alike.
        let plain = "VIREMENT RECU · THOMAS GIRAUD · resto · +25,00 EUR";
        assert_eq!(known_row(plain).as_deref(), Some("TRANSFER FROM THOMAS GIRAUD"));
        let twint = "TWINT · Envoi d'argent à Marc Dubois · Apéro · -35.00 CHF";
        assert_eq!(known_row(twint).as_deref(), Some("TRANSFER TO MARC DUBOIS"));
        let instant = "Virement instantané émis · Léa Martin · Remboursement · -23,50 €";
        assert_eq!(known_row(instant).as_deref(), Some("TRANSFER TO Léa Martin"));
        let space = "Holiday · Moved to Space · 31 Mar · -£150.00";
        assert_eq!(known_row(space).as_deref(), Some("TRANSFER TO SAVINGS Holiday"));
        // A shop's line in an app keeps its words.
        assert_eq!(known_row("Sonnen-Apotheke Fürth · girocard kontaktlos"), None);
    }

    #[test]
    fn other_text_is_left_alone() {
        assert_eq!(known_row("28/02/2025,HALCYON TECH LTD SAL FEB,,3120.55,4021.72"), None);
        assert_eq!(known_row("CARD PAYMENT TO TESCO STORES 3297"), None);
        assert_eq!(known_row("a,b,c,d,e,f,g,h,i,j"), None);
        assert_eq!(known_row("TRANSFER,Current,yesterday,x,y,1,0,GBP,COMPLETED,2"), None);
    }
}
