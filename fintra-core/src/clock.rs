//! Determinism seams: time and ids are injected, never read inside domain code.
//!
//! Production code uses [`SystemClock`] and [`UuidV7Generator`]; tests and simulations use
//! [`ManualClock`] and [`SequentialIdGenerator`], which make every run repeatable.

use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};

use chrono::{DateTime, Duration, TimeZone, Utc};
use uuid::Uuid;

/// A source of the current time.
pub trait Clock: Send + Sync {
    /// The current instant, with at most microsecond precision (what every store keeps).
    fn now(&self) -> DateTime<Utc>;
}

/// A source of new ids (UUIDv7, so ids sort by creation time).
pub trait IdGenerator: Send + Sync {
    /// A fresh, never-repeated id.
    fn next_id(&self) -> Uuid;
}

/// The operating system's wall clock.
#[derive(Clone, Copy, Debug, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    #[allow(clippy::disallowed_methods, reason = "this is the one place that reads the OS clock")]
    fn now(&self) -> DateTime<Utc> {
        crate::event::truncate_to_micros(Utc::now())
    }
}

/// Random UUIDv7 ids, monotonic within the process.
#[derive(Clone, Copy, Debug, Default)]
pub struct UuidV7Generator;

impl IdGenerator for UuidV7Generator {
    #[allow(clippy::disallowed_methods, reason = "this is the one place that draws random ids")]
    fn next_id(&self) -> Uuid {
        Uuid::now_v7()
    }
}

/// A clock that only moves when told to. Thread-safe.
#[derive(Debug)]
pub struct ManualClock {
    now: Mutex<DateTime<Utc>>,
}

impl ManualClock {
    /// A clock standing at `start` (truncated to microseconds, like every clock here).
    pub fn new(start: DateTime<Utc>) -> Self {
        Self { now: Mutex::new(crate::event::truncate_to_micros(start)) }
    }

    /// A clock standing at 2024-01-01T00:00:00Z.
    pub fn at_epoch_2024() -> Self {
        Self::new(Utc.with_ymd_and_hms(2024, 1, 1, 0, 0, 0).single().unwrap_or_default())
    }

    /// Moves the clock to `instant` (backwards too: the clock is a test tool).
    pub fn set(&self, instant: DateTime<Utc>) {
        *self.lock() = crate::event::truncate_to_micros(instant);
    }

    /// Moves the clock forward by `by`.
    pub fn advance(&self, by: Duration) {
        let mut now = self.lock();
        *now = crate::event::truncate_to_micros(now.checked_add_signed(by).unwrap_or(*now));
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, DateTime<Utc>> {
        // A poisoned lock still holds a valid instant: keep going.
        self.now.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

impl Clock for ManualClock {
    fn now(&self) -> DateTime<Utc> {
        *self.lock()
    }
}

/// Deterministic UUIDv7-shaped ids from a counter: `next_id` returns 1, 2, 3… in the random bits
/// and a fixed timestamp, so tests can predict and compare ids. Thread-safe.
#[derive(Debug, Default)]
pub struct SequentialIdGenerator {
    next: AtomicU64,
}

impl SequentialIdGenerator {
    /// Starts counting after `start`.
    pub fn starting_after(start: u64) -> Self {
        Self { next: AtomicU64::new(start) }
    }
}

impl IdGenerator for SequentialIdGenerator {
    fn next_id(&self) -> Uuid {
        let n = self.next.fetch_add(1, Ordering::Relaxed).wrapping_add(1);
        let mut random = [0u8; 10];
        random[2..].copy_from_slice(&n.to_be_bytes());
        uuid::Builder::from_unix_timestamp_millis(1_704_067_200_000, &random).into_uuid()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sequential_ids_are_v7_distinct_and_ordered() {
        let ids = SequentialIdGenerator::default();
        let a = ids.next_id();
        let b = ids.next_id();
        assert_eq!(a.get_version_num(), 7);
        assert!(a < b);
        assert_eq!(SequentialIdGenerator::default().next_id(), a, "same sequence every run");
    }

    #[test]
    fn manual_clock_moves_only_when_told() {
        let clock = ManualClock::at_epoch_2024();
        let t0 = clock.now();
        assert_eq!(clock.now(), t0);
        clock.advance(Duration::seconds(5));
        assert_eq!(clock.now() - t0, Duration::seconds(5));
    }
}
