//! fintra: `Repository<BankAccount, PgEventStore>::execute`.

use examples::bank_account::{BankAccount, Command, Event};
use fintra_core::{Asset, EventMetadata, Money, Repository, StreamId};
use fintra_store_postgres::{GroupCommit, PgEventStore, PgStoreOptions};
use sqlx::PgPool;

use crate::{Config, Contender};

pub(crate) struct Fintra {
    repo: Repository<BankAccount, PgEventStore>,
    streams: Vec<StreamId>,
}

/// How fintra runs.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum Variant {
    /// Load, decide, append: two round trips per command.
    Plain,
    /// With an aggregate cache as large as the account set: one round trip.
    Cached,
    /// Cached, with group commit on the store.
    Grouped,
}

pub(crate) async fn setup(config: &Config, pool: PgPool, variant: Variant) -> Fintra {
    // `FINTRA_BENCH_IN_FLIGHT` overrides the statements in flight (default: GroupCommit's).
    let in_flight = std::env::var("FINTRA_BENCH_IN_FLIGHT").ok().and_then(|v| v.parse().ok());
    let group_commit = (variant == Variant::Grouped).then(|| GroupCommit {
        statements_in_flight: in_flight.unwrap_or(GroupCommit::default().statements_in_flight),
        ..GroupCommit::default()
    });
    let options = PgStoreOptions { notify: false, group_commit, ..PgStoreOptions::default() };
    let store = PgEventStore::from_pool(pool, &options).expect("options");
    store.migrate().await.expect("migrate");
    let repo = Repository::<BankAccount, _>::new(store.clone());
    let streams: Vec<StreamId> = (0..config.streams)
        .map(|i| repo.stream_id(uuid::Uuid::from_u128(u128::from(i) + 1)).expect("id"))
        .collect();
    let opened: Vec<_> = streams
        .iter()
        .map(|s| {
            let open = Event::Opened { owner: "bench".into(), balance: Money::zero(Asset::GBP) };
            let mut e = repo
                .encode(&[open], chrono::DateTime::UNIX_EPOCH, &EventMetadata::default())
                .expect("encode");
            (s.clone(), e.remove(0))
        })
        .collect();
    store.bulk_import(&opened, |_| {}).await.expect("open accounts");
    let repo = if variant != Variant::Plain {
        let capacity = usize::try_from(config.streams).expect("fits");
        repo.with_cache(capacity).expect("cache capacity")
    } else {
        repo
    };
    Fintra { repo, streams }
}

impl Contender for Fintra {
    async fn deposit(&self, account: u64) {
        let stream = &self.streams[usize::try_from(account).expect("fits")];
        let deposit = Command::Deposit { amount: Money::new(100, Asset::GBP) };
        self.repo
            .execute(stream, &deposit, &EventMetadata::default())
            .await
            .expect("fintra command");
    }
}
