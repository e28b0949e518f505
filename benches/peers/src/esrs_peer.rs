//! esrs 0.18 (`PgStore` + `AggregateManager::load` + `handle_command`, optimistic).

use esrs::AggregateState;
use esrs::manager::AggregateManager;
use esrs::store::postgres::{PgStore, PgStoreBuilder, PgStoreError};
use serde::{Deserialize, Serialize};
use sqlx::PgPool;

use crate::{Config, Contender};

pub(crate) enum AccountCommand {
    Open,
    Deposit { amount_minor: i64 },
}

#[derive(Serialize, Deserialize)]
pub(crate) enum AccountEvent {
    Opened,
    Deposited { amount_minor: i64 },
}

#[derive(Debug, thiserror::Error)]
pub(crate) enum AccountError {
    #[error("not open")]
    NotOpen,
    #[error("not positive")]
    NotPositive,
}

#[derive(Default)]
pub(crate) struct State {
    open: bool,
    balance_minor: i64,
}

pub(crate) struct Account;

impl esrs::Aggregate for Account {
    const NAME: &'static str = "account";
    type State = State;
    type Command = AccountCommand;
    type Event = AccountEvent;
    type Error = AccountError;

    fn handle_command(
        state: &State,
        command: AccountCommand,
    ) -> Result<Vec<AccountEvent>, AccountError> {
        match command {
            AccountCommand::Open => Ok(vec![AccountEvent::Opened]),
            AccountCommand::Deposit { amount_minor } => {
                if !state.open {
                    return Err(AccountError::NotOpen);
                }
                if amount_minor <= 0 {
                    return Err(AccountError::NotPositive);
                }
                Ok(vec![AccountEvent::Deposited { amount_minor }])
            }
        }
    }

    fn apply_event(mut state: State, event: AccountEvent) -> State {
        match event {
            AccountEvent::Opened => state.open = true,
            AccountEvent::Deposited { amount_minor } => state.balance_minor += amount_minor,
        }
        state
    }
}

pub(crate) struct Esrs {
    manager: AggregateManager<PgStore<Account>>,
    ids: Vec<uuid::Uuid>,
}

pub(crate) async fn setup(config: &Config, pool: PgPool) -> Esrs {
    let store: PgStore<Account> = PgStoreBuilder::new(pool).try_build().await.expect("esrs store");
    let manager = AggregateManager::new(store);
    let ids: Vec<uuid::Uuid> =
        (0..config.streams).map(|i| uuid::Uuid::from_u128(u128::from(i) + 1)).collect();
    for id in &ids {
        let state = AggregateState::with_id(*id);
        manager.handle_command(state, AccountCommand::Open).await.expect("store").expect("open");
    }
    Esrs { manager, ids }
}

impl Contender for Esrs {
    async fn deposit(&self, account: u64) {
        let id = self.ids[usize::try_from(account).expect("fits")];
        for _attempt in 0..1_000 {
            let state = self.manager.load(id).await.expect("load").expect("opened");
            let outcome: Result<Result<State, AccountError>, PgStoreError> = self
                .manager
                .handle_command(state, AccountCommand::Deposit { amount_minor: 100 })
                .await;
            match outcome {
                Ok(Ok(_)) => return,
                Ok(Err(domain)) => panic!("esrs rejected: {domain}"),
                // A concurrent writer took the sequence number: reload and retry, as fintra does.
                Err(PgStoreError::Sqlx(sqlx::Error::Database(db)))
                    if db.kind() == sqlx::error::ErrorKind::UniqueViolation =>
                {
                    continue;
                }
                Err(other) => panic!("esrs store: {other:?}"),
            }
        }
        panic!("esrs: 1,000 conflicts in a row");
    }
}
