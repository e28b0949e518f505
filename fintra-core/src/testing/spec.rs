//! Given/when/then for aggregates.

use std::fmt::Debug;

use chrono::{DateTime, Utc};

use crate::{Aggregate, DecideContext, ManualClock, SequentialIdGenerator};

/// A decider test: the history (`given`), a command (`when`) and the expected events or
/// rejection (`then`). Time is fixed (2024-01-01 unless [`AggregateSpec::at`] says otherwise) and
/// ids are sequential, so expectations can name them.
///
/// ```
/// # use fintra_core::testing::AggregateSpec;
/// # use fintra_core::{Aggregate, DecideContext, DomainEvent};
/// # #[derive(Default, Clone, serde::Serialize, serde::Deserialize)] struct Counter(u32);
/// # #[derive(Clone, Debug, PartialEq)] struct Added;
/// # impl DomainEvent for Added { fn event_type(&self) -> &'static str { "Added" } }
/// # #[derive(Debug, PartialEq, thiserror::Error)] #[error("full")] struct Full;
/// # impl Aggregate for Counter {
/// #     const CATEGORY: &'static str = "counter";
/// #     type Command = (); type Event = Added; type Error = Full;
/// #     fn decide(&self, _: &(), _: &DecideContext<'_>) -> Result<Vec<Added>, Full> {
/// #         if self.0 >= 2 { Err(Full) } else { Ok(vec![Added]) }
/// #     }
/// #     fn apply(&mut self, _: &Added) { self.0 += 1; }
/// # }
/// AggregateSpec::<Counter>::given([Added]).when(()).then([Added]);
/// AggregateSpec::<Counter>::given([Added, Added]).when(()).then_error(Full);
/// ```
pub struct AggregateSpec<A: Aggregate> {
    state: A,
    clock: ManualClock,
    ids: SequentialIdGenerator,
}

impl<A: Aggregate> AggregateSpec<A> {
    /// Starts from the state that `history` folds into.
    pub fn given(history: impl IntoIterator<Item = A::Event>) -> Self {
        let mut state = A::default();
        history.into_iter().for_each(|event| state.apply(&event));
        Self { state, clock: ManualClock::at_epoch_2024(), ids: SequentialIdGenerator::default() }
    }

    /// Starts from the default (empty) state.
    pub fn given_nothing() -> Self {
        Self::given([])
    }

    /// Decides at `now` instead of 2024-01-01.
    #[must_use]
    pub fn at(self, now: DateTime<Utc>) -> Self {
        self.clock.set(now);
        self
    }

    /// The state the history folded into.
    pub fn state(&self) -> &A {
        &self.state
    }

    /// Runs `command` through `decide`.
    pub fn when(self, command: A::Command) -> Outcome<A> {
        use crate::Clock;
        let ctx = DecideContext::new(self.clock.now(), &self.ids);
        let result = self.state.decide(&command, &ctx);
        Outcome { state: self.state, result }
    }
}

/// The result of [`AggregateSpec::when`], to check with `then…`.
pub struct Outcome<A: Aggregate> {
    state: A,
    result: Result<Vec<A::Event>, A::Error>,
}

impl<A: Aggregate> Outcome<A>
where
    A::Event: Debug + PartialEq,
    A::Error: Debug + PartialEq,
{
    /// Asserts the command produced exactly `expected`; returns the state after applying them.
    ///
    /// # Panics
    /// If the command was rejected or produced other events.
    pub fn then(self, expected: impl IntoIterator<Item = A::Event>) -> A {
        let expected: Vec<_> = expected.into_iter().collect();
        match self.result {
            Ok(events) => {
                assert_eq!(events, expected, "the command produced other events than expected");
                let mut state = self.state;
                events.iter().for_each(|event| state.apply(event));
                state
            }
            Err(error) => {
                panic!("expected events {expected:?}, but the command was rejected: {error:?}")
            }
        }
    }

    /// Asserts the command was rejected with `expected`.
    ///
    /// # Panics
    /// If the command succeeded or failed otherwise.
    pub fn then_error(self, expected: A::Error) {
        match self.result {
            Ok(events) => panic!("expected rejection {expected:?}, but got events {events:?}"),
            Err(error) => {
                assert_eq!(error, expected, "the command was rejected for another reason")
            }
        }
    }

    /// The raw result, for checks the helpers above do not cover.
    pub fn into_result(self) -> Result<Vec<A::Event>, A::Error> {
        self.result
    }
}
