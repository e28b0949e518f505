//! fintra in five minutes: an event-sourced bank account on the in-memory store.
//!
//! Opens an account, deposits, withdraws, has an overdraft rejected, asks what the balance was
//! at an earlier time, and forks history to ask "what if that withdrawal never happened?".
//! Run it with `cargo run --example quickstart`; it needs no database.

use std::sync::Arc;

use chrono::{Duration, TimeZone, Utc};
use examples::bank_account::{BankAccount, Command, Event};
use fintra_core::{
    AsOf, Asset, Clock, EventMetadata, ExecuteError, InMemoryEventStore, ManualClock, Money,
    Repository, SequentialIdGenerator,
};

type Failure = Box<dyn std::error::Error>;

fn main() -> Result<(), Failure> {
    futures::executor::block_on(run())
}

fn balance(account: &BankAccount) -> String {
    account.balance.map_or_else(|| "(not open)".to_owned(), |b| b.to_string())
}

#[allow(clippy::print_stdout, reason = "an example talks to its reader")]
async fn run() -> Result<(), Failure> {
    // Time and ids are injected: a manual clock makes every run print the same story.
    let clock = Arc::new(ManualClock::new(Utc.with_ymd_and_hms(2024, 1, 1, 9, 0, 0).unwrap()));
    let store = InMemoryEventStore::with_clock(clock.clone());
    let accounts = Repository::<BankAccount, _>::new(store.clone())
        .with_clock(clock.clone())
        .with_ids(Arc::new(SequentialIdGenerator::default()));
    let stream = accounts.stream_id(uuid::Uuid::from_u128(7))?;
    let meta = EventMetadata::default();
    let gbp = |text: &str| Money::parse(text, Asset::GBP);

    println!("fintra quickstart: one bank account, event-sourced\n");
    let open = Command::Open { owner: "Ada Lovelace".into(), currency: Asset::GBP };
    accounts.execute(&stream, &open, &meta).await?;
    println!("2024-01-01  opened {stream} for Ada Lovelace in GBP");

    clock.advance(Duration::days(1));
    let done =
        accounts.execute(&stream, &Command::Deposit { amount: gbp("1200.00")? }, &meta).await?;
    println!("2024-01-02  deposited 1200.00 GBP          balance {}", balance(&done.state));

    clock.advance(Duration::days(3));
    let done =
        accounts.execute(&stream, &Command::Withdraw { amount: gbp("250.00")? }, &meta).await?;
    println!("2024-01-05  withdrew 250.00 GBP            balance {}", balance(&done.state));

    clock.advance(Duration::days(2));
    match accounts.execute(&stream, &Command::Withdraw { amount: gbp("5000.00")? }, &meta).await {
        Err(ExecuteError::Rejected(why)) => {
            println!("2024-01-07  withdrawal of 5000.00 GBP refused: {why}")
        }
        other => {
            return Err(format!("the overdraft should have been refused, got {other:?}").into());
        }
    }

    clock.advance(Duration::days(3));
    let done =
        accounts.execute(&stream, &Command::Withdraw { amount: gbp("480.00")? }, &meta).await?;
    println!("2024-01-10  withdrew 480.00 GBP (a new laptop) balance {}", balance(&done.state));
    let laptop = done.append.ok_or("the withdrawal appended an event")?;

    let now = accounts.load(&stream).await?;
    println!("\nNow: balance {} after {} events.", balance(&now.state), now.version);

    // Time travel: replay only what had happened by a past instant.
    let jan6 = Utc.with_ymd_and_hms(2024, 1, 6, 0, 0, 0).unwrap();
    let then = accounts.load_as_of(&stream, AsOf::Occurred(jan6)).await?;
    println!(
        "Time travel: on 2024-01-06 the balance was {} (state after event {}).",
        balance(&then.state),
        then.version
    );

    // A what-if fork: the same history without the laptop, replayed in an isolated branch.
    let events = fintra_core::EventStoreExt::read_stream_to_vec(&store, &stream, 100).await?;
    let laptop_event = events
        .iter()
        .find(|e| e.stream_version == laptop.last_version)
        .ok_or("the laptop withdrawal is in the stream")?;
    let branch = accounts.fork(&stream).await?.without(laptop_event.event_id)?.build().await?;
    println!("What if: without the laptop the balance would be {}.", balance(branch.state()));
    let treat = Event::Withdrew { amount: gbp("60.00")?, at: clock.now() + Duration::days(1) };
    let branch = accounts
        .fork(&stream)
        .await?
        .without(laptop_event.event_id)?
        .appending(&treat)?
        .build()
        .await?;
    println!("What if: a 60.00 GBP dinner instead leaves {}.", balance(branch.state()));

    let live = accounts.load(&stream).await?;
    println!(
        "The live account is untouched: balance {} after {} events.",
        balance(&live.state),
        live.version
    );
    Ok(())
}
