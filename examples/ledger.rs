//! A small payments flow on the fintra ledger, on the in-memory store.
//!
//! Two customer wallets are topped up from the bank's settlement account; Alice pays Bob with a
//! fee; a card authorisation is held and then partly captured; another is voided; a mistaken
//! fee is corrected with a compensating transfer; a retried payment is applied once; an
//! overdraft is refused. Balances are printed after each step, then the trial balance.
//! Run it with `cargo run --example ledger`; it needs no database.

use std::sync::Arc;

use chrono::{Duration, TimeZone, Utc};
use fintra_core::{Asset, InMemoryEventStore, ManualClock, Money, Repository};
use fintra_ledger::{
    AccountId, AccountKind, Ledger, LedgerBook, LedgerError, LedgerOptions, NewAccount,
    NewTransfer, TransferId,
};

type Failure = Box<dyn std::error::Error>;

const SETTLEMENT: AccountId = AccountId::from_u128(1);
const FEES: AccountId = AccountId::from_u128(2);
const MERCHANT: AccountId = AccountId::from_u128(3);
const ALICE: AccountId = AccountId::from_u128(10);
const BOB: AccountId = AccountId::from_u128(11);

fn main() -> Result<(), Failure> {
    futures::executor::block_on(run())
}

fn eur(text: &str) -> Result<Money, Failure> {
    Ok(Money::parse(text, Asset::EUR)?)
}

#[allow(clippy::print_stdout, reason = "an example talks to its reader")]
async fn show(ledger: &Ledger<InMemoryEventStore>, step: &str) -> Result<(), Failure> {
    println!("\n{step}");
    let accounts = [
        ("settlement (asset)", SETTLEMENT, AccountKind::Asset),
        ("fees (income)", FEES, AccountKind::Income),
        ("merchant (liability)", MERCHANT, AccountKind::Liability),
        ("alice wallet (liability)", ALICE, AccountKind::Liability),
        ("bob wallet (liability)", BOB, AccountKind::Liability),
    ];
    for (name, id, kind) in accounts {
        let balance = ledger.balance(id).await.ok_or("every account is open")?;
        let posted = Money::new(balance.posted(kind), Asset::EUR).to_string();
        let available = Money::new(balance.available(kind), Asset::EUR).to_string();
        println!("  {name:<26} posted {posted:>12}   available {available:>12}");
    }
    Ok(())
}

#[allow(clippy::print_stdout, reason = "an example talks to its reader")]
async fn run() -> Result<(), Failure> {
    let clock = Arc::new(ManualClock::new(Utc.with_ymd_and_hms(2024, 6, 3, 9, 0, 0).unwrap()));
    let store = InMemoryEventStore::with_clock(clock.clone());
    let repository = Repository::<LedgerBook, _>::new(store).with_clock(clock.clone());
    // Four books; the settlement account is spread over all of them (the hot-account strategy).
    let options = LedgerOptions { books: 4, ..LedgerOptions::default() };
    let ledger = Ledger::open(repository, uuid::Uuid::from_u128(42), options).await?;

    println!("fintra ledger: a payments flow in double entry (amounts in EUR)");
    open_accounts(&ledger).await?;
    payments(&ledger, &clock).await?;
    corrections_and_refusals(&ledger).await?;
    print_trial_balance(&ledger).await
}

type ExampleLedger = Ledger<InMemoryEventStore>;

async fn open_accounts(ledger: &ExampleLedger) -> Result<(), Failure> {
    ledger
        .open_accounts(vec![
            NewAccount::new(SETTLEMENT, Asset::EUR, AccountKind::Asset).spread(),
            NewAccount::new(FEES, Asset::EUR, AccountKind::Income).spread(),
            NewAccount::new(MERCHANT, Asset::EUR, AccountKind::Liability).spread(),
            NewAccount::new(ALICE, Asset::EUR, AccountKind::Liability)
                .no_overdraft()
                .with_metadata("customer", "alice"),
            NewAccount::new(BOB, Asset::EUR, AccountKind::Liability)
                .no_overdraft()
                .with_metadata("customer", "bob"),
        ])
        .await?;
    Ok(())
}

/// Top-ups, a payment with a fee, a card hold captured in part, a voided hold.
#[allow(clippy::print_stdout, reason = "an example talks to its reader")]
async fn payments(ledger: &ExampleLedger, clock: &ManualClock) -> Result<(), Failure> {
    let id = TransferId::from_u128;
    ledger.transfer(NewTransfer::posted(id(1), SETTLEMENT, ALICE, eur("200.00")?)).await?;
    ledger.transfer(NewTransfer::posted(id(2), SETTLEMENT, BOB, eur("50.00")?)).await?;
    show(ledger, "1. top-ups from the settlement account").await?;

    clock.advance(Duration::hours(1));
    let legs = ledger
        .linked(vec![
            NewTransfer::posted(id(3), ALICE, BOB, eur("40.00")?).reference("rent share"),
            NewTransfer::posted(id(4), ALICE, FEES, eur("0.50")?).reference("p2p fee"),
        ])
        .await;
    match legs {
        Ok(legs) => {
            println!("\n2. alice pays bob 40.00 with a 0.50 fee (linked: {} legs)", legs.len())
        }
        Err(LedgerError::Rejected(why)) => {
            // Alice and Bob live in different books, so the payment and its fee cannot be one
            // linked batch; pay through a cross-book saga and charge the fee in Alice's book.
            println!("\n2. linked batch refused ({why}); paying as a saga plus a fee");
            let saga =
                ledger.transfer(NewTransfer::posted(id(3), ALICE, BOB, eur("40.00")?)).await?;
            ledger.transfer(NewTransfer::posted(id(4), ALICE, FEES, eur("0.50")?)).await?;
            println!("   the saga recorded {} legs through the clearing account", saga.len());
        }
        Err(other) => return Err(other.into()),
    }
    show(ledger, "   balances").await?;

    clock.advance(Duration::hours(1));
    let hold = NewTransfer::pending(id(5), ALICE, MERCHANT, eur("80.00")?, Some(7 * 24 * 3600))
        .reference("card auth 7781");
    ledger.transfer(hold).await?;
    show(ledger, "3. card authorisation: 80.00 held on alice's wallet (pending)").await?;

    clock.advance(Duration::hours(20));
    ledger.transfer(NewTransfer::post(id(6), id(5), Some(eur("62.30")?))).await?;
    show(ledger, "4. the merchant captures 62.30 of the 80.00 hold; 17.70 is released").await?;

    ledger.transfer(NewTransfer::pending(id(7), BOB, MERCHANT, eur("30.00")?, None)).await?;
    ledger.transfer(NewTransfer::void(id(8), id(7))).await?;
    show(ledger, "5. bob's 30.00 authorisation is voided").await?;
    Ok(())
}

/// A compensating correction, an idempotent retry and a refused overdraft.
#[allow(clippy::print_stdout, reason = "an example talks to its reader")]
async fn corrections_and_refusals(ledger: &ExampleLedger) -> Result<(), Failure> {
    let id = TransferId::from_u128;

    let fix = NewTransfer::correction(id(9), id(4), None, "p2p fees waived this month");
    ledger.transfer(fix).await?;
    show(ledger, "6. the 0.50 fee is corrected by a compensating transfer").await?;
    let original = ledger.transfer_record(id(4)).await.ok_or("the fee is recorded")?;
    println!("   the original fee transfer is unchanged: {} {}", original.amount, original.id());

    let retry = NewTransfer::posted(id(2), SETTLEMENT, BOB, eur("50.00")?);
    ledger.transfer(retry).await?;
    println!("\n7. bob's top-up is retried with the same id: applied once");
    let bob = ledger.balance(BOB).await.ok_or("bob is open")?;
    println!("   bob available: {}", Money::new(bob.available(AccountKind::Liability), Asset::EUR));

    let overdraft =
        ledger.transfer(NewTransfer::posted(id(10), BOB, MERCHANT, eur("500.00")?)).await;
    match overdraft {
        Err(LedgerError::Rejected(why)) => {
            println!("\n8. bob tries to pay 500.00: refused — {why}")
        }
        other => return Err(format!("expected a refusal, got {other:?}").into()),
    }
    Ok(())
}

#[allow(clippy::print_stdout, reason = "an example talks to its reader")]
async fn print_trial_balance(ledger: &ExampleLedger) -> Result<(), Failure> {
    println!("\ntrial balance (per ledger and asset, debits = credits):");
    for ((ledger_id, asset), total) in ledger.trial_balance().await {
        let posted = total.posted().map(|m| Money::new(m, asset).to_string());
        println!(
            "  ledger {ledger_id} {asset}: {} accounts, posted debits = credits = {}, balanced: {}",
            total.accounts(),
            posted.unwrap_or_else(|| "(beyond i128)".into()),
            total.is_balanced()
        );
    }
    let mut events = 0;
    for k in 0..ledger.book_count() {
        let stream = ledger.book_stream(k).await.ok_or("book exists")?;
        events += ledger.repository().load(&stream).await?.version.get();
    }
    println!("{events} events across {} books", ledger.book_count());
    Ok(())
}
