//! What a line's bank phrasing says it is, before any merchant: cash, interest, fees, wages and
//! refunds, and which merchants are banks.

use super::purpose::{dividend, names_a_person};
use super::words::{COMPANY_FORMS, PENSION_WORDS};
use super::{Decision, Layer, Transaction, decision, keyword};
use crate::descriptor::{Descriptor, Kind, fold, month_paid};
use crate::resolve::Resolution;

/// Cash, interest, fees, salary and refunds, by the bank's phrasing.
pub(super) fn not_a_purchase(
    t: &Transaction<'_>,
    d: &Descriptor,
    merchant: Option<&Resolution>,
) -> Option<Decision> {
    let money_in = t.amount_minor > 0;
    // "CASH" or "FEE" that belongs to the merchant's own name (Cash App) says nothing.
    let in_name = |word: &str| {
        merchant.is_some_and(|m| m.matched.to_uppercase().split(' ').any(|w| w == word))
    };
    // A dividend credited to a broker's cash account is no cash paid in.
    if money_in && d.kind == Kind::Cash && dividend(d) {
        return decision("income.dividends", 0.85, Layer::BankPhrasing, "dividend");
    }
    // What kind of fee, asked only of a fee line.
    let fee = d.kind == Kind::Fee;
    let (foreign, atm) = (fee && foreign_fee(d), fee && atm_fee(d));
    let (category, confidence, evidence) = match d.kind {
        Kind::Cash if in_name("CASH") => return None,
        Kind::Cash => (if money_in { "cash.deposit" } else { "cash.withdrawal" }, 0.9, "cash"),
        // A loan's instalment names its interest beside the capital it repays ("Ratenkredit …
        // Tilgung/Zinsen"); a building loan's is the mortgage.
        Kind::Interest if !money_in && d.has_word("TILGUNG") => {
            let home = ["HYPOTHEK", "BAUFINANZIERUNG", "IMMOBILIENKREDIT", "IMMOBILIENDARLEHEN"]
                .iter()
                .any(|w| d.has_word(w))
                || mortgage_lender(merchant);
            (if home { "housing.mortgage" } else { "loans.loan_payment" }, 0.85, "loan instalment")
        }
        Kind::Interest => {
            (if money_in { "income.interest" } else { "fees.interest" }, 0.9, "interest")
        }
        // A foreign-use fee names the shop it was charged on, and an account fee names the
        // bank that keeps the account: either way the fee is the bank's.
        // A card issuer, a payment firm or a broker named in a fee line is the one charging it
        // ("NON-WELLS FARGO ATM TRANSACTION FEE").
        // A fee paid to a business the line names by its trade ("CA DMV FEE", "PARKING FEE")
        // is that business's, not the bank's.
        Kind::Fee
            if foreign
                || atm
                || merchant.is_none_or(|m| bank(&m.merchant) || financial(&m.merchant))
                    && keyword(d, t.country).is_none() =>
        {
            let c = if d.has_word("OVERDRAFT") || d.has_word("UEBERZIEHUNG") {
                "fees.overdraft"
            } else if foreign {
                "fees.foreign"
            } else if atm {
                "fees.atm"
            } else if d.has_word("LATE") || d.has_word("RETURNED") || d.has_word("UNPAID") {
                "fees.late"
            } else {
                "fees.bank"
            };
            (c, 0.85, "fee")
        }
        // Pay that names a pension is a pension ("ACCREDITO EMOLUMENTI INPS PENSIONE").
        Kind::Salary if money_in && d.words.iter().any(|w| PENSION_WORDS.contains(&w.as_str())) => {
            ("income.pension", 0.85, "pension")
        }
        Kind::Salary if money_in => ("income.salary", 0.9, "salary"),
        // An employer's credit that names itself pay ("DIRECT CREDIT 449982 WOOLWORTHS GRP
        // PAY"); a wallet's name ("APPLE PAY") is no wages.
        Kind::Transfer | Kind::Unknown if money_in && payslip(d) => ("income.salary", 0.8, "pay"),
        Kind::Transfer if money_in && invoice_paid(d) => ("income.freelance", 0.75, "invoice"),
        Kind::Refund if money_in => ("income.refund", 0.85, "refund"),
        _ => return None,
    };
    decision(category, confidence, Layer::BankPhrasing, evidence)
}

/// A bank: its default category is a bank's fee, its code a cash machine's, or it is a
/// financial merchant whose name says so ("U.S. Bank").
pub(super) fn bank(m: &crate::Merchant) -> bool {
    // MCC 6012 also covers lessors, lenders and pay-later schemes: only cash (6010, 6011)
    // counts. A name with BANK counts for a financial merchant, not a tailor ("Jos. A. Bank").
    m.category.starts_with("fees.")
        || m.mcc.is_some_and(|c| (6010..=6011).contains(&c))
        || financial(m)
            && fold(&m.name).split(|c: char| !c.is_ascii_alphanumeric()).any(|w| w == "BANK")
}

/// A card issuer, a payment firm or a broker, by its default category.
pub(super) fn financial(m: &crate::Merchant) -> bool {
    ["transfers.", "loans.credit_card", "investments."].iter().any(|p| m.category.starts_with(p))
}

/// Words before a closing PAY that name a wallet, a pay-later scheme or a state benefit, not an
/// employer's payroll.
const NOT_PAYROLL: &[&str] = &[
    "APPLE", "GOOGLE", "SAMSUNG", "AMAZON", "AUTO", "BILL", "ZIP", "SHOP", "REVOLUT", "CURVE",
    "WECHAT", "MOBILE", "PAYPAL", "LEAVE", "PARTNER", "SICK", "HOLIDAY",
];

/// A credit whose last word is PAY after an employer's name, not a wallet's, a benefit's or a
/// person's.
pub(super) fn payslip(d: &Descriptor) -> bool {
    let person = names_a_person(d);
    // Irish and UK exports close an employer's credit with SAL ("ACCENTURE SAL"), or with SAL
    // and the month paid ("BRIGHTWELL HOMES LTD SAL MAR24 FPI").
    let sal = match d.counterparty.as_slice() {
        [.., last] if last == "SAL" => d.counterparty.len() >= 2,
        [.., sal, paid] if sal == "SAL" => d.counterparty.len() >= 3 && month_paid(paid),
        _ => false,
    };
    if !person && sal {
        return true;
    }
    let Some(pay) = d.words.iter().rposition(|w| w == "PAY").filter(|&i| i > 0) else {
        return false;
    };
    let before = d.words[pay - 1].as_str();
    // PAY closes the line, but for the payment's date or number ("… PTY LTD PAY 050424").
    // Australian payroll adds the pay period after the number ("… LOGISTICS PAY 2803
    // FORTNIGHTLY"); "PAY MONTHLY" alone is a phone plan.
    let number = |w: &String| w.bytes().all(|b| b.is_ascii_digit());
    let period =
        |w: &String| matches!(w.as_str(), "WEEKLY" | "FORTNIGHTLY" | "MONTHLY" | "BIWEEKLY");
    let after = &d.words[pay + 1..];
    let closing = match after.split_last() {
        Some((last, rest)) if period(last) => !rest.is_empty() && rest.iter().all(number),
        _ => after.iter().all(number),
    } && !NOT_PAYROLL.contains(&before);
    // A Canadian payroll transfer opens the employer's name with it ("ELECTRONIC FUNDS
    // TRANSFER PAY MAPLEGATE LOGISTICS INC"): a company pays.
    let opening = before == "TRANSFER"
        && d.words[pay + 1..].iter().any(|w| COMPANY_FORMS.contains(&w.as_str()));
    !person && (closing || opening)
}

/// A company paying an invoice ("VIR SEPA RECU /DE STUDIO KERMADEC SAS /MOTIF FACTURE
/// F-2025-014"): the account holder billed it for work.
fn invoice_paid(d: &Descriptor) -> bool {
    const INVOICE: &[&str] =
        &["INVOICE", "FACTURE", "RECHNUNG", "FACTUUR", "FATTURA", "FACTURA", "FAKTURA"];
    d.words.iter().any(|w| INVOICE.contains(&w.as_str()))
        && d.words.iter().any(|w| COMPANY_FORMS.contains(&w.as_str()))
}

/// A fee for a cash machine: it names the machine, whoever runs it ("Entgelt
/// Bargeldbehebung Fremdautomat EURONET") — the fee is the bank's.
fn atm_fee(d: &Descriptor) -> bool {
    [
        "ATM",
        "BANKOMAT",
        "BANKOMATU",
        "GELDAUTOMAT",
        "FREMDAUTOMAT",
        "BARGELDBEHEBUNG",
        "CAJERO",
        "DAB",
    ]
    .iter()
    .any(|w| d.has_word(w))
}

/// A loan repaid to a mortgage lender is the mortgage ("ROCKET MORTGAGE LOAN PAYMENT").
pub(super) fn mortgage_lender(merchant: Option<&Resolution>) -> bool {
    merchant.is_some_and(|m| m.merchant.category == "housing.mortgage")
}

/// A fee for using the card or account abroad or in another currency.
fn foreign_fee(d: &Descriptor) -> bool {
    [
        "FOREIGN",
        "OVERSEAS",
        "FX",
        "AUSLANDSEINSATZ",
        "AUSLANDSEINSATZENTGELT",
        "UTLANDSAVGIFT",
        "AUSLANDSENTGELT",
        "FREMDWAEHRUNG",
        "FREMDWAEHRUNGSENTGELT",
        "VALUTAKURSTILLAEG",
        "PRZEWALUTOWANIE",
    ]
    .iter()
    .any(|w| d.has_word(w))
        || d.has_phrase("NON STERLING")
}
