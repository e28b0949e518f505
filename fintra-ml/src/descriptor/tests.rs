//! The descriptor cleaner's unit tests.

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
fn masks_structured_fields_and_star_billers() {
    // A card mask is noise, not the merchant's first word.
    let d = parse("PAIEMENT PAR CARTE X1234 DECATHLON VILLENEUVE 12/03");
    assert_eq!(d.counterparty_text(), "DECATHLON VILLENEUVE");
    assert!(is_code("XXXXX8421") && !is_code("BET365"));
    // A structured export's /NAME/ field is the payee, up to the next field.
    let d = parse(
        "/TRTP/SEPA Incasso/CSID/NL45ZZZ2405/NAME/Eneco Consumenten BV/MARF/1-001/REMI/Termijn",
    );
    assert_eq!((d.kind, d.counterparty_text().as_str()), (Kind::DirectDebit, "ENECO CONSUMENTEN"));
    // "GOOGLE *" bills another product; "GOOGLE" alone is Google.
    let d = parse("GOOGLE *YouTubePremium g.co/helppay#");
    assert_eq!(d.intermediary.as_ref().map(|i| i.name.as_str()), Some("Google"));
    assert_eq!(d.counterparty_text(), "YOUTUBEPREMIUM G HELPPAY");
    assert_eq!(parse("GOOGLE STORAGE").intermediary, None);
    // Payment-app and foreign phrasing.
    assert_eq!(parse("Swish betalning LINDQVIST, EMMA").counterparty_text(), "LINDQVIST EMMA");
    assert_eq!(parse("ZAKUP PRZY UZYCIU KARTY BIEDRONKA 3874").kind, Kind::CardPurchase);
    assert_eq!(parse("LEVANTAMENTO MULTIBANCO 15/03 PORTO").kind, Kind::Cash);
}

#[test]
fn stacked_bank_phrasing_comes_off() {
    // A short phrase continuing one of the same kind is phrasing too…
    let d = parse("ADDEBITO DIRETTO SDD FASTWEB SPA CONTO 8819234");
    assert_eq!(d.kind, Kind::DirectDebit);
    assert_eq!(d.counterparty.first().map(String::as_str), Some("FASTWEB"));
    // …one after a phrase of another kind is a name.
    assert_eq!(parse("CARD PAYMENT TO BP 1234 LONDON").counterparty_text(), "BP LONDON");
    // `C/O` (Italian banks' "at") marks the payee.
    let d = parse("PAGAMENTO POS 67,45 EUR DEL 14/03/2024 ALLE 18:32 C/O ESSELUNGA MILANO");
    assert_eq!(d.counterparty.first().map(String::as_str), Some("ESSELUNGA"));
    // …but not after a name, where it is "care of" or an address.
    assert_eq!(
        parse("BAR ROSSI C/O STAZIONE TERMINI").counterparty.first().map(String::as_str),
        Some("BAR")
    );
    assert_eq!(parse("UPS C.O.D. 1Z999").counterparty.first().map(String::as_str), Some("UPS"));
    // A short card word never outranks a transfer of the same length.
    assert_eq!(parse("PRZELEW BLIK 500 123 456").kind, Kind::Transfer);
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
