//! Time-series queries on the warm store: events between two instants, metric points in time
//! buckets, and daily rollups.
//!
//! Metric points are `(tenant, series, key, at, value)` rows with exact decimal values — a feed's
//! latency (`series = "feed.latency_ms"`, `key = institution`), an account's flows, spend per
//! category. Every point also lands in a **daily rollup** (total, count, min, max, last value of
//! the day): on the native layout a table updated by the statement that records the points; on
//! TimescaleDB a continuous aggregate with real-time aggregation. Both read the same way.

use chrono::{DateTime, NaiveDate, TimeDelta, Utc};
use fintra_core::{Error, RecordedEvent, Result, TenantId};
use rust_decimal::Decimal;
use sqlx::{PgConnection, Row};

use crate::store::{TimescaleEventStore, WarmLayout};

/// Most rows one time-series page or bucket query returns.
pub const SERIES_ROWS_MAX: usize = 100_000;

/// Which events [`TimescaleEventStore::events_between`] returns.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EventQuery {
    /// Recorded at or after.
    pub from: DateTime<Utc>,
    /// Recorded before.
    pub to: DateTime<Utc>,
    /// Only this tenant's events.
    pub tenant: Option<TenantId>,
    /// Only streams of this category (the stream id's text before its first `-`).
    pub category: Option<String>,
    /// Only events of this type.
    pub event_type: Option<String>,
    /// Resume after this cursor (from the previous page's [`EventPage::next`]).
    pub after: Option<EventCursor>,
    /// Page size, 1 ..= [`fintra_core::limits::READ_PAGE_EVENTS_MAX`].
    pub limit: usize,
}

impl EventQuery {
    /// Every event recorded in `[from, to)`, 1,000 per page.
    pub fn between(from: DateTime<Utc>, to: DateTime<Utc>) -> Self {
        Self { from, to, tenant: None, category: None, event_type: None, after: None, limit: 1_000 }
    }
}

/// Where a page of [`TimescaleEventStore::events_between`] ended: pages are ordered by
/// `(recorded_at, position)`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct EventCursor {
    /// The last event's `recorded_at`.
    pub recorded_at: DateTime<Utc>,
    /// The last event's position.
    pub position: u64,
}

/// One page of events.
#[derive(Clone, Debug, PartialEq)]
pub struct EventPage {
    /// The events, by `(recorded_at, position)`.
    pub events: Vec<RecordedEvent>,
    /// The cursor for the next page; `None` when this page was the last.
    pub next: Option<EventCursor>,
}

/// One metric observation.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MetricPoint {
    /// The tenant it belongs to.
    pub tenant: TenantId,
    /// What is measured (`balance.flow`, `spend`, `feed.latency_ms`).
    pub series: String,
    /// Of what (an account id, a category, an institution).
    pub key: String,
    /// When.
    pub at: DateTime<Utc>,
    /// The value, exact.
    pub value: Decimal,
    /// What produced it (a transaction id), so it can be reversed
    /// ([`TimescaleEventStore::reverse_points`]).
    pub source: Option<String>,
}

/// Which points a bucket or rollup query reads.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MetricQuery {
    /// The tenant.
    pub tenant: TenantId,
    /// The series.
    pub series: String,
    /// One key, or every key of the series.
    pub key: Option<String>,
    /// At or after.
    pub from: DateTime<Utc>,
    /// Before.
    pub to: DateTime<Utc>,
}

/// Aggregates of one key over one time bucket (or one day).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Bucket {
    /// The key.
    pub key: String,
    /// The bucket's start (UTC midnight for daily rollups).
    pub start: DateTime<Utc>,
    /// Sum of the values.
    pub total: Decimal,
    /// Points.
    pub count: u64,
    /// Smallest value.
    pub min: Decimal,
    /// Largest value.
    pub max: Decimal,
    /// The value of the latest point.
    pub last: Decimal,
}

/// An account's end-of-day balance.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DailyBalance {
    /// The day.
    pub day: NaiveDate,
    /// The balance at its end, in minor units.
    pub balance_minor: Decimal,
}

/// Spend of one category on one day.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DailySpend {
    /// The day.
    pub day: NaiveDate,
    /// The category.
    pub category: String,
    /// Money out, in minor units (positive).
    pub amount_minor: Decimal,
}

/// The series [`crate::TwinRollups`] writes account flows to (key: account id).
pub const FLOW_SERIES: &str = "account.flow";
/// The series [`crate::TwinRollups`] writes opening balances to (key: account id).
pub const OPENING_SERIES: &str = "account.opening";
/// The series [`crate::TwinRollups`] writes spend to (key: category).
pub const SPEND_SERIES: &str = "spend";

fn bucket_from_row(row: &sqlx::postgres::PgRow) -> Result<Bucket> {
    let count: i64 = row.try_get("count").map_err(Error::backend)?;
    Ok(Bucket {
        key: row.try_get("key").map_err(Error::backend)?,
        start: row.try_get("start").map_err(Error::backend)?,
        total: row.try_get("total").map_err(Error::backend)?,
        count: u64::try_from(count).map_err(|_| Error::corrupted("negative point count"))?,
        min: row.try_get("min").map_err(Error::backend)?,
        max: row.try_get("max").map_err(Error::backend)?,
        last: row.try_get("last").map_err(Error::backend)?,
    })
}

fn check_range(from: DateTime<Utc>, to: DateTime<Utc>) -> Result<()> {
    if from >= to {
        return Err(Error::invalid("to", "the range ends before it starts"));
    }
    Ok(())
}

fn midnight(day: NaiveDate) -> DateTime<Utc> {
    day.and_time(chrono::NaiveTime::MIN).and_utc()
}

impl TimescaleEventStore {
    /// Events recorded in `[from, to)`, filtered by tenant, stream category and event type,
    /// one page at a time in `(recorded_at, position)` order. Like the global log, it shows
    /// only transactions older than every running one, so a range that ends in the past pages
    /// completely; for consuming the live log use `read_all` and positions.
    ///
    /// # Errors
    /// `InvalidInput` for an empty range, `LimitExceeded` for a page over the read limit,
    /// `Backend`.
    pub async fn events_between(&self, query: &EventQuery) -> Result<EventPage> {
        check_range(query.from, query.to)?;
        fintra_core::backend::check_read_limit(query.limit)?;
        let limit = i64::try_from(query.limit).unwrap_or(i64::MAX);
        let (after_at, after_position) = match query.after {
            Some(cursor) => (
                Some(cursor.recorded_at),
                i64::try_from(cursor.position)
                    .map_err(|_| Error::invalid("after", "position exceeds i64::MAX"))?,
            ),
            None => (None, 0),
        };
        let sql = include_str!("../sql/events_between.sql")
            .replace("{columns}", fintra_store_postgres::warm::EVENT_COLUMNS);
        let rows = sqlx::query(&sql)
            .bind(query.from)
            .bind(query.to)
            .bind(query.tenant.as_ref().map(TenantId::as_str))
            .bind(query.category.as_deref())
            .bind(query.event_type.as_deref())
            .bind(after_at)
            .bind(after_position)
            .bind(limit)
            .fetch_all(self.pool())
            .await
            .map_err(Error::backend)?;
        let events = fintra_store_postgres::warm::decode_event_rows(&rows)?;
        let next = (events.len() == query.limit)
            .then(|| events.last())
            .flatten()
            .map(|e| EventCursor { recorded_at: e.recorded_at, position: e.position.get() });
        Ok(EventPage { events, next })
    }

    /// Records metric points and folds them into the daily rollup, atomically.
    ///
    /// # Errors
    /// `InvalidInput` for an empty series or key, `Backend`.
    pub async fn record_points(&self, points: &[MetricPoint]) -> Result<()> {
        let mut conn = self.pool().acquire().await.map_err(Error::backend)?;
        self.record_points_in(&mut conn, points).await
    }

    /// [`TimescaleEventStore::record_points`] inside the caller's connection or transaction.
    ///
    /// # Errors
    /// As [`TimescaleEventStore::record_points`].
    pub async fn record_points_in(
        &self,
        conn: &mut PgConnection,
        points: &[MetricPoint],
    ) -> Result<()> {
        if points.is_empty() {
            return Ok(());
        }
        if let Some(bad) = points.iter().find(|p| p.series.is_empty() || p.key.is_empty()) {
            return Err(Error::invalid("points", format!("empty series or key in {bad:?}")));
        }
        let insert = "INSERT INTO fintra_metric_points (tenant_id, series, key, at, value, source) \
                      SELECT * FROM UNNEST($1::text[], $2::text[], $3::text[], $4::timestamptz[], \
                      $5::numeric[], $6::text[])";
        let sql = match self.layout {
            // The continuous aggregate follows the points by itself.
            WarmLayout::TimescaleDb { .. } => insert.to_owned(),
            WarmLayout::NativePartitions => {
                format!(
                    "WITH points AS ({insert} RETURNING *) {}",
                    include_str!("../sql/rollup_upsert.sql")
                )
            }
        };
        sqlx::query(&sql)
            .bind(points.iter().map(|p| p.tenant.as_str()).collect::<Vec<_>>())
            .bind(points.iter().map(|p| p.series.as_str()).collect::<Vec<_>>())
            .bind(points.iter().map(|p| p.key.as_str()).collect::<Vec<_>>())
            .bind(points.iter().map(|p| p.at).collect::<Vec<_>>())
            .bind(points.iter().map(|p| p.value).collect::<Vec<_>>())
            .bind(points.iter().map(|p| p.source.as_deref()).collect::<Vec<_>>())
            .execute(&mut *conn)
            .await
            .map_err(Error::backend)?;
        Ok(())
    }

    /// Reverses every point a source produced (a corrected transaction): records, at `at`, a
    /// point with the negated value for each, so totals and rollups drop it while history keeps
    /// both. Returns the points reversed.
    ///
    /// # Errors
    /// `Backend`.
    pub async fn reverse_points(
        &self,
        conn: &mut PgConnection,
        tenant: &TenantId,
        source: &str,
        at: DateTime<Utc>,
    ) -> Result<u64> {
        let rows = sqlx::query(
            "SELECT series, key, sum(value) AS value FROM fintra_metric_points \
             WHERE tenant_id = $1 AND source = $2 GROUP BY series, key HAVING sum(value) <> 0",
        )
        .bind(tenant.as_str())
        .bind(source)
        .fetch_all(&mut *conn)
        .await
        .map_err(Error::backend)?;
        let mut reversal = Vec::with_capacity(rows.len());
        for row in &rows {
            let value: Decimal = row.try_get("value").map_err(Error::backend)?;
            reversal.push(MetricPoint {
                tenant: tenant.clone(),
                series: row.try_get("series").map_err(Error::backend)?,
                key: row.try_get("key").map_err(Error::backend)?,
                at,
                value: -value,
                source: Some(source.to_owned()),
            });
        }
        self.record_points_in(conn, &reversal).await?;
        Ok(u64::try_from(reversal.len()).unwrap_or(u64::MAX))
    }

    /// Points of a series aggregated into buckets of `width` (aligned to the Unix epoch), per
    /// key, oldest first.
    ///
    /// # Errors
    /// `InvalidInput` for an empty range or a width under one second, `LimitExceeded`
    /// (`SERIES_ROWS_MAX`) when the answer has more rows (narrow the range), `Backend`.
    pub async fn metric_buckets(
        &self,
        query: &MetricQuery,
        width: TimeDelta,
    ) -> Result<Vec<Bucket>> {
        check_range(query.from, query.to)?;
        if width < TimeDelta::seconds(1) {
            return Err(Error::invalid("width", "at least one second"));
        }
        let bucket = match &self.layout {
            WarmLayout::TimescaleDb { schema, .. } => {
                format!("\"{schema}\".time_bucket($5::interval, at)")
            }
            WarmLayout::NativePartitions => {
                "date_bin($5::interval, at, TIMESTAMPTZ '1970-01-01 00:00:00+00')".to_owned()
            }
        };
        let sql = format!(
            "SELECT key, {bucket} AS start, sum(value) AS total, count(*) AS count, \
             min(value) AS min, max(value) AS max, (array_agg(value ORDER BY at DESC))[1] AS last \
             FROM fintra_metric_points \
             WHERE tenant_id = $1 AND series = $2 AND ($3::text IS NULL OR key = $3) \
             AND at >= $4 AND at < $6 \
             GROUP BY key, start ORDER BY start, key LIMIT {}",
            SERIES_ROWS_MAX + 1
        );
        let width = format!("{} seconds", width.num_seconds());
        let rows = sqlx::query(&sql)
            .bind(query.tenant.as_str())
            .bind(&query.series)
            .bind(query.key.as_deref())
            .bind(query.from)
            .bind(&width)
            .bind(query.to)
            .fetch_all(self.pool())
            .await
            .map_err(Error::backend)?;
        fintra_core::backend::check_limit("SERIES_ROWS_MAX", SERIES_ROWS_MAX, rows.len())?;
        rows.iter().map(bucket_from_row).collect()
    }

    /// The daily rollup of a series (days whose midnight lies in `[from, to)`), per key, oldest
    /// first: read from the rollup table or continuous aggregate, never from the raw points.
    ///
    /// # Errors
    /// `InvalidInput` for an empty range, `LimitExceeded` (`SERIES_ROWS_MAX`) when the answer
    /// has more rows, `Backend`.
    pub async fn daily_rollup(&self, query: &MetricQuery) -> Result<Vec<Bucket>> {
        check_range(query.from, query.to)?;
        let sql = format!(
            "SELECT key, day AS start, total, count, min, max, last_value AS last \
             FROM fintra_metric_daily \
             WHERE tenant_id = $1 AND series = $2 AND ($3::text IS NULL OR key = $3) \
             AND day >= $4 AND day < $5 ORDER BY day, key LIMIT {}",
            SERIES_ROWS_MAX + 1
        );
        let rows = sqlx::query(&sql)
            .bind(query.tenant.as_str())
            .bind(&query.series)
            .bind(query.key.as_deref())
            .bind(query.from)
            .bind(query.to)
            .fetch_all(self.pool())
            .await
            .map_err(Error::backend)?;
        fintra_core::backend::check_limit("SERIES_ROWS_MAX", SERIES_ROWS_MAX, rows.len())?;
        rows.iter().map(bucket_from_row).collect()
    }

    /// Spend per category per day for `[from, to]` (days), from the daily rollup of
    /// [`SPEND_SERIES`]; days without spend are absent.
    ///
    /// # Errors
    /// `InvalidInput` for an empty range, `Backend`.
    pub async fn daily_spend(
        &self,
        tenant: &TenantId,
        from: NaiveDate,
        to: NaiveDate,
    ) -> Result<Vec<DailySpend>> {
        let query = MetricQuery {
            tenant: tenant.clone(),
            series: SPEND_SERIES.to_owned(),
            key: None,
            from: midnight(from),
            to: midnight(to) + TimeDelta::days(1),
        };
        let rollup = self.daily_rollup(&query).await?;
        Ok(rollup
            .into_iter()
            .filter(|b| !b.total.is_zero())
            .map(|b| DailySpend {
                day: b.start.date_naive(),
                category: b.key,
                amount_minor: b.total,
            })
            .collect())
    }

    /// An account's end-of-day balance for every day of `[from, to]`: its opening balance plus
    /// every flow up to that day, computed from the daily rollups (one row per day with
    /// activity before `from` is summed once, not replayed).
    ///
    /// # Errors
    /// `InvalidInput` for an empty range, `Backend`.
    pub async fn daily_balances(
        &self,
        tenant: &TenantId,
        account: &str,
        from: NaiveDate,
        to: NaiveDate,
    ) -> Result<Vec<DailyBalance>> {
        if from > to {
            return Err(Error::invalid("to", "the range ends before it starts"));
        }
        let days = usize::try_from((to - from).num_days()).unwrap_or(usize::MAX);
        fintra_core::backend::check_limit(
            "SERIES_ROWS_MAX",
            SERIES_ROWS_MAX,
            days.saturating_add(1),
        )?;
        let rows = sqlx::query(include_str!("../sql/daily_balances.sql"))
            .bind(tenant.as_str())
            .bind(account)
            .bind(from)
            .bind(to)
            .bind(FLOW_SERIES)
            .bind(OPENING_SERIES)
            .fetch_all(self.pool())
            .await
            .map_err(Error::backend)?;
        rows.iter()
            .map(|row| {
                Ok(DailyBalance {
                    day: row.try_get("day").map_err(Error::backend)?,
                    balance_minor: row.try_get("balance").map_err(Error::backend)?,
                })
            })
            .collect()
    }
}
