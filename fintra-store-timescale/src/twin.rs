//! [`TwinRollups`]: daily balances per account and daily spend per category, fed from the
//! Financial Twin's events in the log.

use fintra_core::{Aggregate, Error, Position, RecordedEvent, Result};
use fintra_core::{Codec, EventStore, JsonCodec, RawEvent};
use fintra_twin::fos::{TransactionStatus, UnifiedTransaction};
use fintra_twin::{Profile, ProfileEvent};
use rust_decimal::Decimal;

use crate::TimescaleEventStore;
use crate::series::{FLOW_SERIES, MetricPoint, OPENING_SERIES, SPEND_SERIES};

/// Log events read per catch-up transaction.
const PAGE_EVENTS: usize = 1_000;

/// Feeds the rollups from `profile-…` streams of the log, checkpointed in
/// `fintra_rollup_checkpoints` in the same transaction as the points, so a crash never counts
/// an event twice or skips one:
///
/// - `AccountLinked` → the opening balance (series [`OPENING_SERIES`], key = account id, on the
///   anchor date);
/// - `TransactionsImported` → each transaction's signed amount ([`FLOW_SERIES`], key = account
///   id) and, for money out, its amount under its top-level category ([`SPEND_SERIES`]; an
///   unenriched transaction counts as `Uncategorized`), dated on the booking day;
/// - `TransactionCorrected` → the corrected transaction's points reversed.
///
/// Only posted transactions count, as in the twin's balances (`balance_sheet_on`); spend is
/// gross money out (a refund is a flow, not negative spend). Amounts are minor units. Read them back with
/// [`TimescaleEventStore::daily_balances`] and [`TimescaleEventStore::daily_spend`].
pub struct TwinRollups {
    name: String,
    codec: JsonCodec<ProfileEvent>,
}

impl std::fmt::Debug for TwinRollups {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TwinRollups").field("name", &self.name).finish_non_exhaustive()
    }
}

impl Default for TwinRollups {
    fn default() -> Self {
        Self::new("twin")
    }
}

/// What one event means for the rollups.
enum Fact {
    Points(Vec<MetricPoint>),
    /// Reverse the points of `source`, then record `then` (its amended version, if any).
    Reverse {
        source: String,
        at: chrono::DateTime<chrono::Utc>,
        then: Vec<MetricPoint>,
    },
}

impl TwinRollups {
    /// A feeder whose checkpoint is stored under `name` (one per independent rollup set).
    pub fn new(name: &str) -> Self {
        Self { name: name.to_owned(), codec: JsonCodec::new() }
    }

    fn fact(&self, event: &RecordedEvent) -> Result<Option<Fact>> {
        if event.stream_id.category() != Profile::CATEGORY {
            return Ok(None);
        }
        let tenant = &event.metadata.tenant_id;
        let point = |series: &str, key: &str, value: Decimal, source: Option<&str>| MetricPoint {
            tenant: tenant.clone(),
            series: series.to_owned(),
            key: key.to_owned(),
            at: event.occurred_at,
            value,
            source: source.map(str::to_owned),
        };
        let decoded = self.codec.decode(&RawEvent::from(event))?;
        Ok(match decoded {
            ProfileEvent::AccountLinked { account, opening_balance_minor, .. } => {
                let opening = decimal(opening_balance_minor)?;
                Some(Fact::Points(vec![point(OPENING_SERIES, &account.account_id, opening, None)]))
            }
            ProfileEvent::TransactionsImported { transactions, .. } => {
                let mut points = Vec::with_capacity(transactions.len() * 2);
                for t in &transactions {
                    points.extend(transaction_points(t, &point)?);
                }
                Some(Fact::Points(points))
            }
            // A new category moves the transaction's spend point to the new category.
            ProfileEvent::TransactionAmended { transaction, .. }
            | ProfileEvent::TransactionCategorised { transaction, .. } => Some(Fact::Reverse {
                source: transaction.transaction_id.clone(),
                at: event.occurred_at,
                then: transaction_points(&transaction, &point)?,
            }),
            ProfileEvent::TransactionCorrected { transaction_id, .. } => Some(Fact::Reverse {
                source: transaction_id,
                at: event.occurred_at,
                then: Vec::new(),
            }),
            ProfileEvent::ProfileCreated(_) | ProfileEvent::ManualAssetValued(_) => None,
        })
    }

    /// The position the rollups have consumed the log up to.
    ///
    /// # Errors
    /// `Backend`.
    pub async fn checkpoint(&self, store: &TimescaleEventStore) -> Result<Position> {
        let position: Option<i64> =
            sqlx::query_scalar("SELECT position FROM fintra_rollup_checkpoints WHERE name = $1")
                .bind(&self.name)
                .fetch_optional(store.pool())
                .await
                .map_err(Error::backend)?;
        position.map_or(Ok(Position::START), Position::from_stored)
    }

    /// Consumes the log from the checkpoint to its (gap-safe) end, one transaction per page.
    /// Safe to run from several processes: a page another process committed first is rolled
    /// back here and the loop continues from the new checkpoint. Returns the events consumed.
    ///
    /// # Errors
    /// `Codec` for a profile event that does not decode (the checkpoint stays before it),
    /// `Backend`.
    pub async fn catch_up(&self, store: &TimescaleEventStore) -> Result<u64> {
        let mut consumed = 0u64;
        loop {
            let from = self.checkpoint(store).await?;
            let page = store.log().read_all(from, PAGE_EVENTS).await?;
            let Some(last) = page.last() else { return Ok(consumed) };
            let to = last.position;
            let mut tx = store.log().begin().await?;
            let moved = self.advance(&mut tx, from, to).await?;
            if !moved {
                tx.rollback().await?;
                continue;
            }
            let mut points = Vec::new();
            for event in &page {
                match self.fact(event)? {
                    Some(Fact::Points(more)) => points.extend(more),
                    Some(Fact::Reverse { source, at, then }) => {
                        // Points of earlier events in this page must be in place first.
                        store.record_points_in(&mut tx, &std::mem::take(&mut points)).await?;
                        store
                            .reverse_points(&mut tx, &event.metadata.tenant_id, &source, at)
                            .await?;
                        points = then;
                    }
                    None => {}
                }
            }
            store.record_points_in(&mut tx, &points).await?;
            tx.commit().await?;
            consumed += u64::try_from(page.len()).unwrap_or(u64::MAX);
        }
    }

    /// Moves the checkpoint from `from` to `to`; false when another process moved it first.
    async fn advance(
        &self,
        tx: &mut sqlx::PgConnection,
        from: Position,
        to: Position,
    ) -> Result<bool> {
        let as_i64 = |p: Position| {
            i64::try_from(p.get()).map_err(|_| Error::corrupted("position exceeds i64::MAX"))
        };
        let updated = sqlx::query(
            "INSERT INTO fintra_rollup_checkpoints AS c (name, position) VALUES ($1, $3) \
             ON CONFLICT (name) DO UPDATE SET position = EXCLUDED.position \
             WHERE c.position = $2",
        )
        .bind(&self.name)
        .bind(as_i64(from)?)
        .bind(as_i64(to)?)
        .execute(&mut *tx)
        .await
        .map_err(Error::backend)?;
        Ok(updated.rows_affected() == 1)
    }
}

/// The points one transaction contributes. Like the twin's balances: posted transactions only
/// (a pending hold never counts, so the posted one that replaces it needs no reversal).
fn transaction_points(
    t: &UnifiedTransaction,
    point: &impl Fn(&str, &str, Decimal, Option<&str>) -> MetricPoint,
) -> Result<Vec<MetricPoint>> {
    if t.status != TransactionStatus::Posted {
        return Ok(Vec::new());
    }
    let amount = decimal(t.amount_minor)?;
    let source = Some(t.transaction_id.as_str());
    let mut points = vec![point(FLOW_SERIES, &t.account_id, amount, source)];
    if amount.is_sign_negative() && !amount.is_zero() {
        let category = t.enrichment.as_ref().map_or("Uncategorized", |e| e.category_l1());
        points.push(point(SPEND_SERIES, category, -amount, source));
    }
    Ok(points)
}

fn decimal(minor: i128) -> Result<Decimal> {
    Decimal::try_from_i128_with_scale(minor, 0)
        .map_err(|_| Error::invalid("amount_minor", format!("{minor} does not fit a decimal")))
}
