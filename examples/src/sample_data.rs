//! A deterministic generator of one person's messy bank data over 18 months
//! (2024-01-01 … 2025-06-30), in the formats Connect reads.
//!
//! - Plaid (institution `ins_northbank`): a current account, a savings account, a credit card and
//!   a car loan: salary (with a rise in 2025), rent, council tax, energy, phone, subscriptions,
//!   groceries, coffee, transport, fuel, online shopping with refunds, fees, card repayments,
//!   savings transfers, a car deposit and its loan; messy merchant strings; pending→posted pairs,
//!   a few holds still pending at the end; and one transaction delivered twice.
//! - Yapily: a travel e-money wallet with its own transactions and running balances.
//! - CSV: an old credit-union savings account in the signed-amount layout.
//!
//! `cargo run --example generate_sample_data` writes `examples/data/`; the test
//! `sample_data_is_up_to_date` checks the committed files equal a fresh generation.

use std::fmt::Write as _;

use chrono::{Datelike, Duration, NaiveDate, Weekday};

/// The seed of the committed files.
pub const SEED: u64 = 20_240_101;

/// The files, as text.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SampleData {
    /// Plaid `/accounts/get` body.
    pub plaid_accounts: String,
    /// Plaid `/transactions/get` body.
    pub plaid_transactions: String,
    /// Yapily `/accounts` body.
    pub yapily_accounts: String,
    /// Yapily `/accounts/{id}/transactions` body for the travel wallet.
    pub yapily_transactions: String,
    /// The credit union's CSV export.
    pub csv_export: String,
}

impl SampleData {
    /// (file name, contents) pairs.
    pub fn files(&self) -> [(&'static str, &str); 5] {
        [
            ("plaid_accounts.json", &self.plaid_accounts),
            ("plaid_transactions.json", &self.plaid_transactions),
            ("yapily_accounts.json", &self.yapily_accounts),
            ("yapily_transactions.json", &self.yapily_transactions),
            ("credit_union.csv", &self.csv_export),
        ]
    }
}

/// The first and last day of the data.
pub fn period() -> (NaiveDate, NaiveDate) {
    (day(2024, 1, 1), day(2025, 6, 30))
}

/// The id of the car deposit transaction (for the what-if).
pub const CAR_DEPOSIT_ID: &str = "txn_car_deposit";

fn day(y: i32, m: u32, d: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(y, m, d).unwrap_or(NaiveDate::MIN)
}

/// xorshift64*: small, seeded, the same on every platform.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    /// Uniform in `lo..=hi`.
    fn range(&mut self, lo: i64, hi: i64) -> i64 {
        let span = u64::try_from(hi - lo + 1).unwrap_or(1);
        lo + i64::try_from(self.next() % span).unwrap_or(0)
    }

    /// True with probability `percent`/100.
    fn chance(&mut self, percent: u64) -> bool {
        self.next() % 100 < percent
    }
}

/// Pence as a JSON decimal with two places.
fn decimal(pence: i64) -> String {
    let sign = if pence < 0 { "-" } else { "" };
    let abs = pence.unsigned_abs();
    format!("{sign}{}.{:02}", abs / 100, abs % 100)
}

fn quoted(text: &str) -> String {
    serde_json::to_string(text).unwrap_or_else(|_| "\"\"".to_owned())
}

/// One Plaid transaction; `amount` follows Plaid's sign (positive = money out).
struct PlaidTxn {
    id: String,
    account: &'static str,
    date: NaiveDate,
    name: String,
    pence_out: i64,
    pending: bool,
    pending_id: Option<String>,
}

const CHECKING: &str = "acc_current";
const SAVINGS: &str = "acc_saver";
const CARD: &str = "acc_visa";
const LOAN: &str = "acc_carloan";

fn month_day(date: NaiveDate, d: u32) -> NaiveDate {
    date.with_day(d).unwrap_or(date)
}

/// The last weekday on or before `date`.
fn business_day(mut date: NaiveDate) -> NaiveDate {
    while matches!(date.weekday(), Weekday::Sat | Weekday::Sun) {
        date -= Duration::days(1);
    }
    date
}

/// The Plaid transactions being generated, numbered in order, and the card spend since the last
/// card payment.
#[derive(Default)]
struct Generated {
    out: Vec<PlaidTxn>,
    n: u32,
    card_cycle: i64,
}

impl Generated {
    fn push(&mut self, account: &'static str, date: NaiveDate, name: &str, pence_out: i64) {
        self.n += 1;
        self.out.push(PlaidTxn {
            id: format!("txn_{:05}", self.n),
            account,
            date,
            name: name.to_owned(),
            pence_out,
            pending: false,
            pending_id: None,
        });
    }

    /// A card purchase, counted towards the next card payment.
    fn card(&mut self, date: NaiveDate, name: &str, pence: i64) {
        self.push(CARD, date, name, pence);
        self.card_cycle += pence;
    }
}

fn plaid_transactions(rng: &mut Rng) -> Vec<PlaidTxn> {
    let (start, end) = period();
    let mut t = Generated::default();
    let mut date = start;
    while date <= end {
        scheduled(&mut t, rng, date);
        day_to_day(&mut t, rng, date, end);
        date += Duration::days(1);
    }
    t.push(CHECKING, day(2024, 6, 3), "OVERDRAFT FEE", 1_500);
    t.push(CARD, day(2024, 8, 9), "FOREIGN FEE", 275);
    let mut out = t.out;
    add_pending_pairs(&mut out);
    // Holds still pending at the end of the period.
    for (k, name) in ["SQ *STARBUCKS #1123", "TESCO STORES 3021"].iter().enumerate() {
        out.push(PlaidTxn {
            id: format!("txn_hold_{k}"),
            account: CARD,
            date: end - Duration::days(i64::try_from(k).unwrap_or(0)),
            name: (*name).to_owned(),
            pence_out: rng.range(400, 4_000),
            pending: true,
            pending_id: None,
        });
    }
    out.sort_by(|a, b| (a.date, &a.id).cmp(&(b.date, &b.id)));
    // One duplicate delivery.
    if let Some(copy) = out.iter().find(|t| t.name.starts_with("NETFLIX") && t.date.month() == 3) {
        let duplicate = PlaidTxn {
            id: copy.id.clone(),
            account: copy.account,
            date: copy.date,
            name: copy.name.clone(),
            pence_out: copy.pence_out,
            pending: false,
            pending_id: None,
        };
        out.push(duplicate);
    }
    out
}

/// Salary, rent, bills, subscriptions, savings, interest, card and loan repayments, the car.
fn scheduled(t: &mut Generated, rng: &mut Rng, date: NaiveDate) {
    match date.day() {
        1 => t.push(CHECKING, date, "RENT OCEAN PROPERTIES LTD", 125_000),
        2 => t.push(CHECKING, date, "PUREGYM MEMBERSHIP", 2_499),
        5 => t.push(CHECKING, date, "COUNCIL TAX LBH", 14_500),
        7 => t.push(CARD, date, "NETFLIX.COM", 1_099),
        12 => {
            let winter = matches!(date.month(), 11 | 12 | 1 | 2 | 3);
            let pence = if winter { rng.range(9_000, 11_500) } else { rng.range(5_500, 7_500) };
            t.push(CHECKING, date, "OCTOPUS ENERGY", pence);
        }
        15 => t.push(CARD, date, "SPOTIFY UK", 1_199),
        18 => t.push(CHECKING, date, "VODAFONE LTD", 2_500),
        _ => {}
    }
    if date == business_day(month_day(date, 25)) {
        let salary = if date >= day(2025, 1, 1) { 340_000 } else { 325_000 };
        t.push(CHECKING, date, "ACME LTD SALARY", -salary);
    }
    if date.day() == 26 {
        t.push(CHECKING, date, "TRANSFER TO SAVINGS", 40_000);
        t.push(SAVINGS, date, "TRANSFER FROM CURRENT", -40_000);
    }
    if date.day() == 28 {
        t.push(SAVINGS, date, "INTEREST EARNED", -rng.range(1_800, 3_200));
    }
    if date.day() == 20 && t.card_cycle > 0 {
        let paid = t.card_cycle;
        t.push(CHECKING, date, "NORTHBANK VISA PAYMENT THANK YOU", paid);
        t.push(CARD, date, "PAYMENT THANK YOU", -paid);
        t.card_cycle = 0;
    }
    if date >= day(2024, 10, 10) && date.day() == 10 {
        t.push(CHECKING, date, "LOAN REPAYMENT NORTHBANK", 32_000);
        t.push(LOAN, date, "LOAN REPAYMENT", -32_000);
    }
    if date == day(2024, 9, 14) {
        t.out.push(PlaidTxn {
            id: CAR_DEPOSIT_ID.to_owned(),
            account: CHECKING,
            date,
            name: "DRIVE MOTORS LTD DEPOSIT".into(),
            pence_out: 400_000,
            pending: false,
            pending_id: None,
        });
        t.push(LOAN, date, "LOAN DRAWDOWN DRIVE MOTORS", 1_200_000);
    }
}

/// Coffee, travel, groceries, online shopping (sometimes refunded), taxis, fuel, a corner shop.
fn day_to_day(t: &mut Generated, rng: &mut Rng, date: NaiveDate, end: NaiveDate) {
    let weekday = !matches!(date.weekday(), Weekday::Sat | Weekday::Sun);
    if rng.chance(if weekday { 70 } else { 35 }) {
        let name = if rng.chance(70) { "SQ *STARBUCKS #1123" } else { "STARBUCKS #112" };
        let pence = rng.range(320, 580);
        t.card(date, name, pence);
    }
    if weekday && rng.chance(60) {
        t.push(CHECKING, date, "TFL TRAVEL CH", rng.range(280, 810));
    }
    if rng.chance(30) {
        let name = if rng.chance(60) { "TESCO STORES 3021" } else { "SAINSBURYS S/MKTS" };
        let pence = rng.range(1_500, 9_500);
        t.card(date, name, pence);
    }
    if rng.chance(7) {
        let name = if rng.chance(50) { "AMZN MKTPL WA" } else { "AMZN MKTPL PAYMENTS WA" };
        let pence = rng.range(900, 8_000);
        t.card(date, name, pence);
        if rng.chance(20) {
            let refund_day = (date + Duration::days(rng.range(3, 9))).min(end);
            t.card(refund_day, "AMZN MKTPL WA REFUND", -pence);
        }
    }
    if rng.chance(4) {
        t.push(CARD, date, "UBER * TRIP", rng.range(900, 2_600));
    }
    if date >= day(2024, 9, 14) && rng.chance(8) {
        let pence = rng.range(4_500, 7_000);
        t.card(date, "SHELL 5532", pence);
    }
    if rng.chance(2) {
        t.push(CHECKING, date, "CORNER SHOP 1234", rng.range(200, 1_500));
    }
}

/// Pending → posted pairs: the provider delivered the hold and then the posting.
fn add_pending_pairs(out: &mut Vec<PlaidTxn>) {
    let mut pairs = Vec::new();
    for (k, t) in out.iter().filter(|t| t.account == CARD && t.pence_out > 0).enumerate() {
        if k % 97 == 5 {
            pairs.push(PlaidTxn {
                id: format!("{}_pending", t.id),
                account: t.account,
                date: t.date - Duration::days(1),
                name: t.name.clone(),
                pence_out: t.pence_out,
                pending: true,
                pending_id: None,
            });
        }
    }
    for hold in &pairs {
        if let Some(posted) = out.iter_mut().find(|t| format!("{}_pending", t.id) == hold.id) {
            posted.pending_id = Some(hold.id.clone());
        }
    }
    out.extend(pairs);
}

fn plaid_documents(transactions: &[PlaidTxn]) -> (String, String) {
    let opening = [(CHECKING, 240_000i64), (SAVINGS, 800_000), (CARD, 0), (LOAN, 0)];
    let mut accounts = String::from("{\n  \"accounts\": [\n");
    let specs = [
        (CHECKING, "Everyday Current", "depository", "checking"),
        (SAVINGS, "Rainy Day Saver", "depository", "savings"),
        (CARD, "Northbank Visa", "credit", "credit card"),
        (LOAN, "Car Loan", "loan", "auto"),
    ];
    for (k, (id, name, kind, subtype)) in specs.iter().enumerate() {
        // FOS balance = opening + Σ(−plaid amount) of posted transactions, counted once.
        let mut seen = std::collections::BTreeSet::new();
        let flows: i64 = transactions
            .iter()
            .filter(|t| t.account == *id && !t.pending && seen.insert(t.id.clone()))
            .map(|t| -t.pence_out)
            .sum();
        let fos = opening.iter().find(|(a, _)| a == id).map_or(0, |(_, o)| *o) + flows;
        let held: i64 = transactions
            .iter()
            .filter(|t| t.account == *id && t.pending && t.id.starts_with("txn_hold"))
            .map(|t| t.pence_out)
            .sum();
        let liability = matches!(*kind, "credit" | "loan");
        let current = if liability { -fos } else { fos };
        let available = if liability { "null".to_owned() } else { decimal(current - held) };
        let _ = write!(
            accounts,
            "    {{\"account_id\": {}, \"name\": {}, \"official_name\": null, \"type\": {}, \"subtype\": {}, \"mask\": \"{:04}\",\n     \"balances\": {{\"current\": {}, \"available\": {}, \"iso_currency_code\": \"GBP\", \"unofficial_currency_code\": null}}}}{}\n",
            quoted(id),
            quoted(name),
            quoted(kind),
            quoted(subtype),
            1000 + k * 1111,
            decimal(current),
            available,
            if k + 1 < specs.len() { "," } else { "" }
        );
    }
    accounts.push_str("  ],\n  \"item\": {\"institution_id\": \"ins_northbank\"},\n  \"request_id\": \"sample-accounts\"\n}\n");

    let mut body = String::from("{\n  \"accounts\": [],\n  \"transactions\": [\n");
    for (k, t) in transactions.iter().enumerate() {
        let _ = writeln!(
            body,
            "    {{\"transaction_id\": {}, \"account_id\": {}, \"amount\": {}, \"iso_currency_code\": \"GBP\", \"unofficial_currency_code\": null, \"date\": \"{}\", \"name\": {}, \"merchant_name\": null, \"pending\": {}, \"pending_transaction_id\": {}}}{}",
            quoted(&t.id),
            quoted(t.account),
            decimal(t.pence_out),
            t.date,
            quoted(&t.name),
            t.pending,
            t.pending_id.as_deref().map_or("null".to_owned(), quoted),
            if k + 1 < transactions.len() { "," } else { "" }
        );
    }
    let _ = write!(
        body,
        "  ],\n  \"total_transactions\": {},\n  \"request_id\": \"sample-transactions\"\n}}\n",
        transactions.len()
    );
    (accounts, body)
}

fn yapily(rng: &mut Rng) -> (String, String) {
    let mut balance = 0i64;
    let mut rows = Vec::new();
    let mut date = day(2024, 4, 1);
    let mut k = 0;
    while date <= day(2025, 6, 30) {
        if date.day() == 1 && matches!(date.month(), 4 | 7 | 8 | 12 | 5) {
            balance += 30_000;
            rows.push((date, "TOP UP FROM NORTHBANK".to_owned(), 30_000, balance));
        }
        if matches!(date.month(), 7 | 8 | 12 | 5) && rng.chance(25) && balance > 5_000 {
            let spend = rng.range(800, 4_500);
            balance -= spend;
            let name =
                if rng.chance(50) { "CAFE DE FLORE PARIS" } else { "SQ *BLUE BOTTLE #44 CA" };
            rows.push((date, name.to_owned(), -spend, balance));
        }
        date += Duration::days(1);
    }
    let mut transactions = String::from("{\n  \"meta\": {\"tracingId\": \"sample\", \"count\": ");
    let _ = write!(transactions, "{}}},\n  \"data\": [\n", rows.len());
    for (date, name, pence, after) in &rows {
        k += 1;
        let status = if *date >= day(2025, 6, 29) { "PENDING" } else { "BOOKED" };
        let _ = writeln!(
            transactions,
            "    {{\"id\": \"yap_{k:04}\", \"date\": \"{date}T00:00:00Z\", \"bookingDateTime\": \"{date}T09:30:00Z\", \"status\": \"{status}\", \"amount\": {}, \"currency\": \"GBP\", \"description\": {}, \"balance\": {{\"type\": \"CLOSING_AVAILABLE\", \"balanceAmount\": {{\"amount\": {}, \"currency\": \"GBP\"}}}}}}{}",
            decimal(*pence),
            quoted(name),
            decimal(*after),
            if k < rows.len() { "," } else { "" }
        );
    }
    transactions.push_str("  ]\n}\n");
    let accounts = format!(
        "{{\n  \"meta\": {{\"tracingId\": \"sample\"}},\n  \"data\": [\n    {{\"id\": \"wallet-7781\", \"type\": \"Personal - Current\", \"accountType\": \"E_MONEY\", \"nickname\": \"Travel Wallet\", \"description\": \"E-money account\", \"balance\": {}, \"currency\": \"GBP\"}}\n  ]\n}}\n",
        decimal(balance)
    );
    (accounts, transactions)
}

fn csv_export() -> String {
    let mut out = String::from("Date,Description,Amount,Balance\n");
    let mut balance = 120_000i64;
    let mut rows = Vec::new();
    let mut date = day(2024, 1, 31);
    while date <= day(2025, 6, 30) {
        balance += 5_000;
        rows.push((date, "INTERNAL TRANSFER FROM JOINT ACCT", 5_000, balance));
        let interest = balance / 400;
        balance += interest;
        rows.push((date, "INTEREST PAID TO YOU", interest, balance));
        date = (date + Duration::days(1))
            .checked_add_months(chrono::Months::new(1))
            .map_or(date, |d| d - Duration::days(1));
    }
    // Newest first, as many banks export.
    for (date, name, pence, after) in rows.iter().rev() {
        let _ = writeln!(
            out,
            "{},{name},{},{}",
            date.format("%d/%m/%Y"),
            decimal(*pence),
            decimal(*after)
        );
    }
    out
}

/// One more month of the Plaid current account and card after the sample period (the dashboard
/// demo's "simulate" button): the same schedule and day-to-day spending, seeded by the month, as
/// a Plaid `/transactions/get` body. Ids are `txn_<YYYYMM>_<n>`, so each month is new to the
/// twin and importing the same month twice changes nothing.
pub fn plaid_month(first_day: NaiveDate) -> String {
    let first = first_day.with_day(1).unwrap_or(first_day);
    let end = first
        .checked_add_months(chrono::Months::new(1))
        .map_or(first, |next| next - Duration::days(1));
    let tag = u64::try_from(first.year()).unwrap_or(0) * 100 + u64::from(first.month());
    let mut rng = Rng((SEED ^ tag.wrapping_mul(0x9e37_79b9)).max(1));
    let mut t = Generated::default();
    let mut date = first;
    while date <= end {
        scheduled(&mut t, &mut rng, date);
        day_to_day(&mut t, &mut rng, date, end);
        date += Duration::days(1);
    }
    let mut out = t.out;
    for txn in &mut out {
        txn.id = format!("txn_{tag}_{}", txn.id.trim_start_matches("txn_"));
    }
    plaid_documents(&out).1
}

/// Generates every file from `seed`.
pub fn generate(seed: u64) -> SampleData {
    let mut rng = Rng(seed.max(1));
    let transactions = plaid_transactions(&mut rng);
    let (plaid_accounts, plaid_transactions) = plaid_documents(&transactions);
    let (yapily_accounts, yapily_transactions) = yapily(&mut rng);
    SampleData {
        plaid_accounts,
        plaid_transactions,
        yapily_accounts,
        yapily_transactions,
        csv_export: csv_export(),
    }
}
