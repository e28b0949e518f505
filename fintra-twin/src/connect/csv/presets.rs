//! How the common UK, EU and US banks export statements, as presets recognised from the header
//! (or, for the banks that write none, from the rows' shape). `docs/connect.md` lists them with
//! what maps where.

use super::number::DecimalSeparator;
use super::{AmountColumns, Column, CsvMapping, StatusRules};

/// A bank's export format.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CsvPreset {
    /// Its name (`lloyds`, `revolut`, `bank_of_america`).
    pub name: &'static str,
    /// The bank and country.
    pub bank: &'static str,
    /// How to read it.
    pub mapping: CsvMapping,
}

fn named(name: &str) -> Column {
    Column::Named(name.to_owned())
}

fn header(cells: &[&str]) -> Option<Vec<String>> {
    Some(cells.iter().map(|c| (*c).to_owned()).collect())
}

fn formats(formats: &[&str]) -> Vec<String> {
    formats.iter().map(|f| (*f).to_owned()).collect()
}

/// A mapping with UK defaults: comma-separated, `dd/mm/yyyy`, point decimals, no status.
fn base(columns: &[&str], date: &str, description: &[&str], amount: AmountColumns) -> CsvMapping {
    CsvMapping {
        delimiter: b',',
        header: header(columns),
        date: named(date),
        date_formats: formats(&["%d/%m/%Y"]),
        description: description.iter().map(|d| named(d)).collect(),
        amount,
        fee: None,
        balance: None,
        id: None,
        currency: None,
        status: None,
        decimal: DecimalSeparator::Point,
    }
}

fn signed(column: &str) -> AmountColumns {
    AmountColumns::Signed(named(column))
}

fn out_in(out: &str, into: &str) -> AmountColumns {
    AmountColumns::OutIn { money_out: named(out), money_in: named(into) }
}

fn preset_of(name: &'static str, bank: &'static str, mapping: CsvMapping) -> CsvPreset {
    CsvPreset { name, bank, mapping }
}

fn lloyds() -> CsvPreset {
    let columns = [
        "Transaction Date",
        "Transaction Type",
        "Sort Code",
        "Account Number",
        "Transaction Description",
        "Debit Amount",
        "Credit Amount",
        "Balance",
    ];
    let mut m = base(
        &columns,
        "Transaction Date",
        &["Transaction Description"],
        out_in("Debit Amount", "Credit Amount"),
    );
    m.balance = Some(named("Balance"));
    preset_of("lloyds", "Lloyds Bank (UK); also Halifax and Bank of Scotland", m)
}

fn barclays() -> CsvPreset {
    let columns = ["Number", "Date", "Account", "Amount", "Subcategory", "Memo"];
    preset_of("barclays", "Barclays (UK)", base(&columns, "Date", &["Memo"], signed("Amount")))
}

fn hsbc() -> CsvPreset {
    // No header: date, description, signed amount.
    let mut m = base(&[], "", &[], AmountColumns::Signed(Column::Index(2)));
    m.header = None;
    m.date = Column::Index(0);
    m.description = vec![Column::Index(1)];
    preset_of("hsbc_uk", "HSBC UK (no header row)", m)
}

fn nationwide() -> CsvPreset {
    let columns = ["Date", "Transaction type", "Description", "Paid out", "Paid in", "Balance"];
    let mut m =
        base(&columns, "Date", &["Description", "Transaction type"], out_in("Paid out", "Paid in"));
    m.date_formats = formats(&["%d %b %Y", "%d/%m/%Y"]);
    m.balance = Some(named("Balance"));
    preset_of("nationwide", "Nationwide Building Society (UK; preamble, £ signs, Windows-1252)", m)
}

fn monzo() -> CsvPreset {
    let columns = [
        "Transaction ID",
        "Date",
        "Time",
        "Type",
        "Name",
        "Emoji",
        "Category",
        "Amount",
        "Currency",
        "Local amount",
        "Local currency",
        "Notes and #tags",
        "Address",
        "Receipt",
        "Description",
        "Category split",
        "Money Out",
        "Money In",
    ];
    let mut m = base(&columns, "Date", &["Name", "Description"], signed("Amount"));
    m.id = Some(named("Transaction ID"));
    m.currency = Some(named("Currency"));
    preset_of("monzo", "Monzo (UK)", m)
}

fn starling() -> CsvPreset {
    let columns = [
        "Date",
        "Counter Party",
        "Reference",
        "Type",
        "Amount (GBP)",
        "Balance (GBP)",
        "Spending Category",
        "Notes",
    ];
    let mut m = base(&columns, "Date", &["Counter Party", "Reference"], signed("Amount (GBP)"));
    m.balance = Some(named("Balance (GBP)"));
    preset_of("starling", "Starling Bank (UK)", m)
}

fn revolut() -> CsvPreset {
    let columns = [
        "Type",
        "Product",
        "Started Date",
        "Completed Date",
        "Description",
        "Amount",
        "Fee",
        "Currency",
        "State",
        "Balance",
    ];
    let mut m = base(&columns, "Completed Date", &["Description"], signed("Amount"));
    m.date = Column::FirstOf(vec![named("Completed Date"), named("Started Date")]);
    m.date_formats = formats(&["%Y-%m-%d %H:%M:%S", "%Y-%m-%d"]);
    m.fee = Some(named("Fee"));
    m.currency = Some(named("Currency"));
    m.balance = Some(named("Balance"));
    m.status = Some((named("State"), StatusRules::revolut()));
    preset_of("revolut", "Revolut (UK/EU)", m)
}

fn n26() -> CsvPreset {
    let columns = [
        "Date",
        "Payee",
        "Account number",
        "Transaction type",
        "Payment reference",
        "Category",
        "Amount (EUR)",
        "Amount (Foreign Currency)",
        "Type Foreign Currency",
        "Exchange Rate",
    ];
    let mut m = base(&columns, "Date", &["Payee", "Payment reference"], signed("Amount (EUR)"));
    m.date_formats = formats(&["%Y-%m-%d"]);
    preset_of("n26", "N26 (EU)", m)
}

fn dkb() -> CsvPreset {
    let columns = [
        "Buchungstag",
        "Wertstellung",
        "Buchungstext",
        "Auftraggeber / Begünstigter",
        "Verwendungszweck",
        "Kontonummer",
        "BLZ",
        "Betrag (EUR)",
        "Gläubiger-ID",
        "Mandatsreferenz",
        "Kundenreferenz",
    ];
    let mut m = base(
        &columns,
        "Buchungstag",
        &["Auftraggeber / Begünstigter", "Verwendungszweck", "Buchungstext"],
        signed("Betrag (EUR)"),
    );
    m.delimiter = b';';
    m.date_formats = formats(&["%d.%m.%Y"]);
    m.decimal = DecimalSeparator::Comma;
    preset_of("dkb", "DKB (Germany; preamble, Windows-1252)", m)
}

fn zkb() -> CsvPreset {
    let columns = [
        "Datum",
        "Buchungstext",
        "Whg",
        "Betrag Detail",
        "ZKB-Referenz",
        "Referenznummer",
        "Belastung CHF",
        "Gutschrift CHF",
        "Valuta",
        "Saldo CHF",
        "Zahlungszweck",
        "Details",
    ];
    let mut m =
        base(&columns, "Datum", &["Buchungstext"], out_in("Belastung CHF", "Gutschrift CHF"));
    m.delimiter = b';';
    m.date_formats = formats(&["%d.%m.%Y"]);
    m.balance = Some(named("Saldo CHF"));
    m.id = Some(named("ZKB-Referenz"));
    preset_of("zkb", "Zürcher Kantonalbank (Switzerland)", m)
}

fn chase() -> CsvPreset {
    let columns =
        ["Details", "Posting Date", "Description", "Amount", "Type", "Balance", "Check or Slip #"];
    let mut m = base(&columns, "Posting Date", &["Description"], signed("Amount"));
    m.date_formats = formats(&["%m/%d/%Y"]);
    m.balance = Some(named("Balance"));
    preset_of("chase", "Chase (US checking)", m)
}

fn chase_card() -> CsvPreset {
    let columns =
        ["Transaction Date", "Post Date", "Description", "Category", "Type", "Amount", "Memo"];
    let mut m = base(&columns, "Transaction Date", &["Description"], signed("Amount"));
    m.date_formats = formats(&["%m/%d/%Y"]);
    preset_of("chase_card", "Chase (US credit card)", m)
}

fn bank_of_america() -> CsvPreset {
    let mut m = base(
        &["Date", "Description", "Amount", "Running Bal."],
        "Date",
        &["Description"],
        signed("Amount"),
    );
    m.date_formats = formats(&["%m/%d/%Y"]);
    m.balance = Some(named("Running Bal."));
    preset_of("bank_of_america", "Bank of America (US; summary preamble)", m)
}

fn wells_fargo() -> CsvPreset {
    // No header: date, signed amount, "*", check number, description.
    let mut m = base(&[], "", &[], AmountColumns::Signed(Column::Index(1)));
    m.header = None;
    m.date = Column::Index(0);
    m.date_formats = formats(&["%m/%d/%Y"]);
    m.description = vec![Column::Index(4)];
    preset_of("wells_fargo", "Wells Fargo (US; no header row)", m)
}

/// Every preset fintra recognises, in detection order.
pub fn presets() -> Vec<CsvPreset> {
    vec![
        lloyds(),
        barclays(),
        nationwide(),
        monzo(),
        starling(),
        revolut(),
        n26(),
        dkb(),
        zkb(),
        chase(),
        chase_card(),
        bank_of_america(),
        hsbc(),
        wells_fargo(),
    ]
}

/// A preset by name.
pub fn preset(name: &str) -> Option<CsvPreset> {
    presets().into_iter().find(|p| p.name == name)
}
