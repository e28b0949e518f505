use super::*;
use crate::descriptor::parse;

fn resolver() -> Resolver {
    Resolver::new(&Catalogue::builtin().unwrap_or_default())
}

#[test]
fn typical_descriptors_resolve_and_look_alikes_do_not() {
    let r = resolver();
    let id = |raw: &str| r.resolve(&parse(raw), None).map(|m| m.merchant.id.clone());
    assert_eq!(id("CARD PAYMENT TO TESCO STORES 3297 ON 12 MAR").as_deref(), Some("tesco"));
    assert_eq!(id("SHELLFISH SHACK"), None);
    assert_eq!(id("FPO J SMITH REF RENT"), None);
    // A corporate word alone names no merchant ("888 HOLDINGS" once matched this).
    assert_eq!(id("ZQXW HOLDINGS 8812"), None);
    assert_eq!(id("QVORNA TRADING GROUP LTD"), None);
}

#[test]
fn names_cleaning_would_cut_match_only_whole() {
    let r = resolver();
    let id = |raw: &str| r.resolve(&parse(raw), None).map(|m| m.merchant.id.clone());
    // "ID MOBILE" and "48 MOBILE" clean to "MOBILE": that word alone names neither.
    assert_eq!(id("Mobile Payment To A NOWAK Ref dominos lol"), None);
    assert_eq!(id("7-ELEVEN 35012 DALLAS TX").as_deref(), Some("seven_eleven"));
    assert_eq!(id("FPO TRADING 212 UK LTD").as_deref(), Some("trading_212"));
    // A spelling's words in its own order, from its first identifying word.
    assert_eq!(id("TST* JOE'S PIZZA - BROADWAY NEW YORK NY"), None);
    assert_eq!(id("Top-Up by *4417"), None);
    // A leading article a bank leaves out.
    assert_eq!(id("PAGO MOVIL EN CORTE INGLES, MADRID").as_deref(), Some("el_corte_ingles"));
    // A name spread over dropped words, at the counterparty's start only in a transfer.
    assert_eq!(id("H-E-B #582 SAN ANTONIO TX").as_deref(), Some("heb"));
    assert_eq!(id("FPO J SMITH REF MC DONALDS"), None);
}
