//! cqrs-es 0.5 with postgres-es 0.5 (`PostgresCqrs::execute`, no snapshots, no queries).

use cqrs_es::event_sink::EventSink;
use cqrs_es::{Aggregate, AggregateError, DomainEvent};
use postgres_es::{PostgresCqrs, postgres_cqrs};
use serde::{Deserialize, Serialize};
use sqlx::PgPool;

use crate::{Config, Contender};

/// postgres-es expects these two tables (its documented schema).
const SCHEMA: &str = "
CREATE TABLE events (aggregate_type text NOT NULL, aggregate_id text NOT NULL,
    sequence bigint CHECK (sequence >= 0) NOT NULL, event_type text NOT NULL,
    event_version text NOT NULL, payload json NOT NULL, metadata json NOT NULL,
    PRIMARY KEY (aggregate_type, aggregate_id, sequence));
CREATE TABLE snapshots (aggregate_type text NOT NULL, aggregate_id text NOT NULL,
    last_sequence bigint CHECK (last_sequence >= 0) NOT NULL,
    current_snapshot bigint CHECK (current_snapshot >= 0) NOT NULL, payload json NOT NULL,
    PRIMARY KEY (aggregate_type, aggregate_id, last_sequence));";

#[derive(Debug, Deserialize)]
pub(crate) enum AccountCommand {
    Open,
    Deposit { amount_minor: i64 },
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub(crate) enum AccountEvent {
    Opened,
    Deposited { amount_minor: i64 },
}

impl DomainEvent for AccountEvent {
    fn event_type(&self) -> String {
        match self {
            Self::Opened => "Opened".into(),
            Self::Deposited { .. } => "Deposited".into(),
        }
    }
    fn event_version(&self) -> String {
        "1".into()
    }
}

#[derive(Debug, thiserror::Error)]
pub(crate) enum AccountError {
    #[error("not open")]
    NotOpen,
    #[error("not positive")]
    NotPositive,
}

#[derive(Default, Serialize, Deserialize)]
pub(crate) struct Account {
    open: bool,
    balance_minor: i64,
}

impl Aggregate for Account {
    const TYPE: &'static str = "account";
    type Command = AccountCommand;
    type Event = AccountEvent;
    type Error = AccountError;
    type Services = ();

    async fn handle(
        &mut self,
        command: AccountCommand,
        _: &(),
        sink: &EventSink<Self>,
    ) -> Result<(), AccountError> {
        match command {
            AccountCommand::Open => sink.write(AccountEvent::Opened, self).await,
            AccountCommand::Deposit { amount_minor } => {
                if !self.open {
                    return Err(AccountError::NotOpen);
                }
                if amount_minor <= 0 {
                    return Err(AccountError::NotPositive);
                }
                sink.write(AccountEvent::Deposited { amount_minor }, self).await;
            }
        }
        Ok(())
    }

    fn apply(&mut self, event: AccountEvent) {
        match event {
            AccountEvent::Opened => self.open = true,
            AccountEvent::Deposited { amount_minor } => self.balance_minor += amount_minor,
        }
    }
}

pub(crate) struct Cqrs {
    cqrs: PostgresCqrs<Account>,
}

pub(crate) async fn setup(config: &Config, pool: PgPool) -> Cqrs {
    sqlx::raw_sql(SCHEMA).execute(&pool).await.expect("postgres-es schema");
    let cqrs = postgres_cqrs(pool, vec![], ());
    for i in 0..config.streams {
        cqrs.execute(&format!("acc-{i}"), AccountCommand::Open).await.expect("open");
    }
    Cqrs { cqrs }
}

impl Contender for Cqrs {
    async fn deposit(&self, account: u64) {
        let id = format!("acc-{account}");
        loop {
            match self.cqrs.execute(&id, AccountCommand::Deposit { amount_minor: 100 }).await {
                Ok(()) => return,
                Err(AggregateError::AggregateConflict) => continue,
                Err(other) => panic!("cqrs-es command: {other}"),
            }
        }
    }
}
