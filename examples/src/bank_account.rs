//! A bank account written as a fintra decider: open it, deposit, withdraw, never overdraw.

use chrono::{DateTime, Utc};
use fintra_core::{Aggregate, Asset, DecideContext, DomainEvent, Money, MoneyError};
use serde::{Deserialize, Serialize};

/// What a caller can ask the account to do.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Command {
    /// Opens the account for `owner` in `currency`.
    Open {
        /// The holder's name.
        owner: String,
        /// The account's currency.
        currency: Asset,
    },
    /// Adds money.
    Deposit {
        /// A positive amount in the account's currency.
        amount: Money,
    },
    /// Takes money out, if the balance covers it.
    Withdraw {
        /// A positive amount in the account's currency.
        amount: Money,
    },
}

/// What happened to the account.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Event {
    /// The account was opened.
    Opened {
        /// The holder's name.
        owner: String,
        /// The opening balance (zero in the account's currency).
        balance: Money,
    },
    /// Money came in.
    Deposited {
        /// The amount.
        amount: Money,
        /// When it happened (domain time).
        at: DateTime<Utc>,
    },
    /// Money went out.
    Withdrew {
        /// The amount.
        amount: Money,
        /// When it happened (domain time).
        at: DateTime<Utc>,
    },
}

impl DomainEvent for Event {
    fn event_type(&self) -> &'static str {
        match self {
            Self::Opened { .. } => "Opened",
            Self::Deposited { .. } => "Deposited",
            Self::Withdrew { .. } => "Withdrew",
        }
    }

    fn occurred_at(&self) -> Option<DateTime<Utc>> {
        match self {
            Self::Opened { .. } => None,
            Self::Deposited { at, .. } | Self::Withdrew { at, .. } => Some(*at),
        }
    }
}

/// Why the account refused a command: one variant per rule.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum Rejection {
    /// Open was sent twice.
    #[error("the account is already open")]
    AlreadyOpen,
    /// Money moved before the account was opened.
    #[error("the account is not open")]
    NotOpen,
    /// Amounts must be above zero.
    #[error("amounts must be positive, got {0}")]
    NotPositive(Money),
    /// The amount is in another currency than the account.
    #[error("the account holds {account}, not {given}")]
    WrongCurrency {
        /// The account's currency.
        account: Asset,
        /// The amount's currency.
        given: Asset,
    },
    /// The withdrawal would overdraw the account.
    #[error("insufficient funds: balance {balance}, requested {requested}")]
    InsufficientFunds {
        /// The balance before the withdrawal.
        balance: Money,
        /// What was asked for.
        requested: Money,
    },
    /// The balance would leave the integer range.
    #[error("amount overflow: {0}")]
    Overflow(MoneyError),
}

/// The account's state, folded from its events.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct BankAccount {
    /// The holder; `None` until opened.
    pub owner: Option<String>,
    /// The balance; `None` until opened.
    pub balance: Option<Money>,
}

impl BankAccount {
    fn checked_amount(&self, amount: Money) -> Result<Money, Rejection> {
        let balance = self.balance.ok_or(Rejection::NotOpen)?;
        if amount.asset() != balance.asset() {
            return Err(Rejection::WrongCurrency {
                account: balance.asset(),
                given: amount.asset(),
            });
        }
        if amount.minor() <= 0 {
            return Err(Rejection::NotPositive(amount));
        }
        Ok(balance)
    }
}

impl Aggregate for BankAccount {
    const CATEGORY: &'static str = "account";
    type Command = Command;
    type Event = Event;
    type Error = Rejection;

    fn decide(&self, command: &Command, ctx: &DecideContext<'_>) -> Result<Vec<Event>, Rejection> {
        match command {
            Command::Open { owner, currency } => {
                if self.balance.is_some() {
                    return Err(Rejection::AlreadyOpen);
                }
                Ok(vec![Event::Opened { owner: owner.clone(), balance: Money::zero(*currency) }])
            }
            Command::Deposit { amount } => {
                let balance = self.checked_amount(*amount)?;
                balance.checked_add(*amount).map_err(Rejection::Overflow)?;
                Ok(vec![Event::Deposited { amount: *amount, at: ctx.now() }])
            }
            Command::Withdraw { amount } => {
                let balance = self.checked_amount(*amount)?;
                if amount.minor() > balance.minor() {
                    return Err(Rejection::InsufficientFunds { balance, requested: *amount });
                }
                Ok(vec![Event::Withdrew { amount: *amount, at: ctx.now() }])
            }
        }
    }

    fn apply(&mut self, event: &Event) {
        match event {
            Event::Opened { owner, balance } => {
                self.owner = Some(owner.clone());
                self.balance = Some(*balance);
            }
            Event::Deposited { amount, .. } | Event::Withdrew { amount, .. } => {
                let balance =
                    self.balance.expect("money only moves on an open account: decide checks it");
                let next = match event {
                    Event::Withdrew { .. } => balance.checked_sub(*amount),
                    _ => balance.checked_add(*amount),
                };
                self.balance = Some(next.expect("decide checked this event cannot overflow"));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use fintra_core::testing::AggregateSpec;

    fn gbp(minor: i128) -> Money {
        Money::new(minor, Asset::GBP)
    }

    fn opened() -> Event {
        Event::Opened { owner: "Ada".into(), balance: gbp(0) }
    }

    #[test]
    fn open_then_deposit() {
        let spec = AggregateSpec::<BankAccount>::given_nothing();
        let open = Command::Open { owner: "Ada".into(), currency: Asset::GBP };
        let state = spec.when(open).then([opened()]);
        assert_eq!(state.balance, Some(gbp(0)));
    }

    #[test]
    fn every_rule_rejects() {
        let open = Command::Open { owner: "Ada".into(), currency: Asset::GBP };
        AggregateSpec::<BankAccount>::given([opened()])
            .when(open)
            .then_error(Rejection::AlreadyOpen);
        let deposit = |m| Command::Deposit { amount: m };
        AggregateSpec::<BankAccount>::given_nothing()
            .when(deposit(gbp(1)))
            .then_error(Rejection::NotOpen);
        AggregateSpec::<BankAccount>::given([opened()])
            .when(deposit(gbp(0)))
            .then_error(Rejection::NotPositive(gbp(0)));
        AggregateSpec::<BankAccount>::given([opened()])
            .when(deposit(Money::new(1, Asset::EUR)))
            .then_error(Rejection::WrongCurrency { account: Asset::GBP, given: Asset::EUR });
        AggregateSpec::<BankAccount>::given([opened()])
            .when(Command::Withdraw { amount: gbp(1) })
            .then_error(Rejection::InsufficientFunds { balance: gbp(0), requested: gbp(1) });
        let rich = Event::Deposited { amount: gbp(i128::MAX), at: DateTime::UNIX_EPOCH };
        let result = AggregateSpec::<BankAccount>::given([opened(), rich])
            .when(deposit(gbp(1)))
            .into_result();
        assert!(matches!(result, Err(Rejection::Overflow(MoneyError::Overflow))));
    }

    #[test]
    fn withdraw_within_balance() {
        let spec = AggregateSpec::<BankAccount>::given([
            opened(),
            Event::Deposited { amount: gbp(500), at: DateTime::UNIX_EPOCH },
        ]);
        let now = spec_now();
        let state = spec
            .when(Command::Withdraw { amount: gbp(500) })
            .then([Event::Withdrew { amount: gbp(500), at: now }]);
        assert_eq!(state.balance, Some(gbp(0)));
    }

    fn spec_now() -> DateTime<Utc> {
        use fintra_core::Clock;
        fintra_core::ManualClock::at_epoch_2024().now()
    }
}
