//! The layers that read what a line says it pays for: a bank phrase ("COUNCIL TAX", "HOME
//! LOAN"), an own account named by its masked number, and a transfer's reference ("RENT",
//! "KINDERGELD") or its payee's trade.

use super::bank::{bank, financial, mortgage_lender};
use super::phrases::PHRASES;
use super::trades::{business_word, first_trade};
use super::words::{
    COMPANY_FORMS, FIRM_WORDS, HONORIFICS, PENSION_WORDS, PERSON_TO_PERSON, STRONG_PURPOSES,
    TRANSFER_ONLY_PURPOSES, TRANSFER_PURPOSES,
};
use super::{Decision, Layer, Transaction, decision};
use crate::descriptor::{Descriptor, Kind};
use crate::resolve::Resolution;

/// A person-to-person scheme's word on the line, or a title opening the counterparty: the
/// other party is a person.
pub(super) fn names_a_person(d: &Descriptor) -> bool {
    d.words.iter().any(|w| PERSON_TO_PERSON.contains(&w.as_str()))
        || d.counterparty.first().is_some_and(|w| HONORIFICS.contains(&w.as_str()))
}

/// The line names a dividend, in one of the languages of [`TRANSFER_PURPOSES`], or closes with
/// the registrars' `DIV` ("BGC EQUINITI LLOYDS BANKING GRP DIV").
pub(super) fn dividend(d: &Descriptor) -> bool {
    d.words.last().is_some_and(|w| w == "DIV")
        || d.words
            .iter()
            .any(|w| TRANSFER_PURPOSES.iter().any(|(p, c)| w == p && *c == "income.dividends"))
}

/// A bank phrase naming the payment's purpose.
pub(super) fn by_phrase(d: &Descriptor, merchant: Option<&Resolution>) -> Option<Decision> {
    // A card network's "PAYMENT" next to a shop is the type column of a card purchase
    // ("McDonalds 1208,MasterCard Payment,-9.47"), not a repayment of the card.
    let shop = merchant.is_some_and(|m| !bank(&m.merchant) && !financial(&m.merchant));
    // A plan fee at a shop is its own product's ("MYDENTIST DENTAL PLAN FEE") unless a bank
    // account's tier names the plan ("Plus plan fee", whatever shop "Plus" recalls); a
    // catalogue merchant named with a property manager's words is what the catalogue says.
    let tier = d.words.windows(3).any(|w| {
        w[1] == "PLAN"
            && w[2] == "FEE"
            && matches!(w[0].as_str(), "PLUS" | "PREMIUM" | "PERKS" | "METAL" | "MAX" | "EXTRA")
    });
    let skip = |p: &str| {
        shop && matches!(p, "VISA PAYMENT" | "MASTERCARD PAYMENT")
            || shop && p == "PLAN FEE" && !tier
            || merchant.is_some()
                && matches!(
                    p,
                    "PROPERTY MGMT" | "PROPERTY MGT" | "PROPERTY MANAGEMENT" | "UTILITY BILL"
                )
    };
    let Some((phrase, category)) =
        PHRASES.iter().filter(|(p, _)| !skip(p)).find(|(p, _)| said(d, p))
    else {
        return own_masked_account(d).then(|| {
            ("transfers.own_account".to_owned(), 0.8, Layer::BankPhrasing, "OWN ACCOUNT".to_owned())
        });
    };
    let category = if *category == "loans.loan_payment" && mortgage_lender(merchant) {
        "housing.mortgage"
    } else {
        category
    };
    decision(category, 0.85, Layer::BankPhrasing, phrase)
}

/// A transfer to or from an account the line names by its masked number right after `to` or
/// `from` ("Transfer to xx7702 CommBank app Bills account"): there banks print a person's or a
/// firm's name, and the number for the holder's own accounts. Read only when no bank phrase
/// says more ("… Home loan repayment").
fn own_masked_account(d: &Descriptor) -> bool {
    let masked =
        |w: &str| w.len() >= 5 && w.starts_with("XX") && w[2..].bytes().all(|b| b.is_ascii_digit());
    d.kind == Kind::Transfer
        && d.words.windows(2).any(|p| matches!(p[0].as_str(), "TO" | "FROM") && masked(&p[1]))
}

/// True when the line holds `phrase` as what a payment is for, not in a business's name: a
/// phrase followed by SERVICES or PREP names a firm ("A & C TAX SERVICES", "PROPERTY TAX
/// PREP").
fn said(d: &Descriptor, phrase: &str) -> bool {
    // Italy's waste tax is paid to a council through its payment systems; elsewhere "TARI" is
    // a name.
    let italian_bill = |w: &String| matches!(w.as_str(), "PAGOPA" | "COMUNE" | "F24" | "CBILL");
    if phrase == "TARI" && !d.words.iter().any(italian_bill) {
        return false;
    }
    d.phrase_ends(phrase).any(|end| {
        // …nor one followed by another trade ("CENTRO MEDICO VETERINARIO").
        !d.words.get(end).is_some_and(|n| {
            matches!(
                n.as_str(),
                "SERVICE"
                    | "SERVICES"
                    | "PREP"
                    | "VETERINARIO"
                    | "VETERINARIA"
                    | "DENTAL"
                    | "ESTETICO"
            )
        })
    })
}

/// Transfers and standing orders, by what their reference says they are for.
pub(super) fn by_purpose(t: &Transaction<'_>, d: &Descriptor) -> Option<Decision> {
    let money_in = t.amount_minor > 0;
    // Money out is never income ("ALLOCATIONS" on a payment says nothing).
    let transfer = matches!(d.kind, Kind::Transfer | Kind::StandingOrder | Kind::DirectDebit);
    if money_in && transfer && dividend(d) {
        return decision("income.dividends", 0.8, Layer::BankPhrasing, "dividend");
    }
    let applies = |word: &str, c: &str| {
        (money_in || !c.starts_with("income."))
            // Words that are names or other things outside a payment's reference
            // ("COUNCIL BLUFFS", "ERIK STROM") count only on a transfer or debit.
            && (transfer || !TRANSFER_ONLY_PURPOSES.contains(&word))
            // NZ Super and Australian super are pensions; elsewhere "super" is praise.
            && (word != "SUPER" || matches!(t.country, Some("AU" | "NZ")))
    };
    let find = |strong: bool| {
        d.words.iter().find_map(|w| {
            TRANSFER_PURPOSES
                .iter()
                .find(|(word, c)| {
                    w == word && STRONG_PURPOSES.contains(word) == strong && applies(word, c)
                })
                .map(|(word, c)| (*word, *c))
        })
    };
    // Rent and savings outrank the words around them ("LAMBETH COUNCIL RENT" is rent).
    let purpose = find(true).or_else(|| find(false));
    if !(transfer || (purpose.is_some() && d.kind == Kind::Unknown)) {
        return None;
    }
    if let Some((word, category)) = purpose {
        let pension = d.words.iter().any(|w| PENSION_WORDS.contains(&w.as_str()));
        let category = match category {
            "transfers.own_account" | "transfers.savings" => category,
            // A pension fund's name may come first ("INPS … PREVIDENZA … RATA PENSIONE").
            _ if money_in && pension => "income.pension",
            c if money_in && !c.starts_with("income.") => "transfers.from_person",
            c => c,
        };
        return decision(category, 0.8, Layer::BankPhrasing, word);
    }
    if matches!(d.kind, Kind::Transfer | Kind::StandingOrder) {
        // Paid to a business the payee's name describes: a business word leads the name
        // ("FLORISTEN …", or after a firm's word: "STUDIO COMMERCIALISTA …"). A person's
        // surname is no business ("FPO J BARBER", "ZELLE TO JOHN CURRY"), nor is a word of
        // their reference ("MADS JENSEN PIZZA FREDAG").
        let person = names_a_person(d);
        let leading = match d.counterparty.as_slice() {
            [firm, _, ..] if FIRM_WORDS.contains(&firm.as_str()) => Some(1),
            [_, ..] => Some(0),
            [] => None,
        };
        // A company's legal form says the payee is a business: its trade word may stand
        // anywhere in its name ("SO PENNINE ACCOUNTANCY LTD"). A generic word leading the name
        // gives way to the trade after it ("CLINICA VETERINARIA …").
        let company = d.words.iter().any(|w| COMPANY_FORMS.contains(&w.as_str()));
        let named = if company {
            first_trade(&d.counterparty, t.country)
        } else {
            leading
                .filter(|&at| business_word(&d.counterparty[at]).is_some())
                .and_then(|at| first_trade(&d.counterparty[at..], t.country))
        };
        if !money_in
            && !person
            && let Some((word, category)) = named
        {
            return decision(category, 0.6, Layer::Keywords, word);
        }
        let c = if money_in { "transfers.from_person" } else { "transfers.to_person" };
        return decision(c, 0.7, Layer::BankPhrasing, "transfer");
    }
    None
}
