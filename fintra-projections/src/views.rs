//! The Views (spec §1.6, §2.8) as a Redis projection of the twins: pre-computed JSON documents
//! per profile, each with its provenance (the event id, stream version and log position it
//! reflects).
//!
//! | view key | document |
//! |---|---|
//! | `unified360:<profile stream>` | Unified 360: net worth with 30-day change, cash-flow status, runway, safe-to-spend, alerts, insights |
//! | `spend:<profile stream>:<YYYY-MM>` | spend by category for the month of the event, with the previous month and the change |
//! | `networth:<profile stream>` | net worth at every month end since the first transaction |
//! | `recurring:<profile stream>` | detected recurring income and bills, monthly income, burn and free cash flow |
//!
//! Every document names the tenant that owns the profile (`tenant_id`), so a reader serving
//! several tenants can refuse another tenant's document.
//!
//! [`query_transactions`] answers the transactions query (date range, category, merchant) on a
//! twin.

use std::collections::HashMap;
use std::sync::Mutex;

use async_trait::async_trait;
use chrono::{Datelike, Months, NaiveDate};
use fintra_core::{DomainEvent, EventStore, Loaded, RecordedEvent, Repository, StreamId};
use fintra_twin::fos::UnifiedTransaction;
use fintra_twin::{Profile, ProfileEvent};
use serde_json::{Value, json};

use crate::redis::RedisProjection;
use crate::runner::ProjectionError;

/// Events that change a month's transactions: they also rewrite that month's spend document.
const TRANSACTION_EVENTS: &[&str] = &[
    "TransactionsImported",
    "TransactionCorrected",
    "TransactionAmended",
    "TransactionCategorised",
];

/// The twin Views, kept in Redis.
pub struct TwinViews<S> {
    repository: Repository<Profile, S>,
    folded: Mutex<HashMap<StreamId, Loaded<Profile>>>,
}

impl<S> std::fmt::Debug for TwinViews<S> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TwinViews").finish_non_exhaustive()
    }
}

impl<S: EventStore> TwinViews<S> {
    /// Drops the cached twin of an erased subject (a profile stream id).
    fn drop_twin(&self, subject: &str) {
        if let Ok(stream) = StreamId::new(subject) {
            self.folded.lock().unwrap_or_else(std::sync::PoisonError::into_inner).remove(&stream);
        }
    }

    /// Views of the twins in `repository`'s store.
    pub fn new(repository: Repository<Profile, S>) -> Self {
        Self { repository, folded: Mutex::new(HashMap::new()) }
    }

    /// For an amendment, the booking date the transaction had just before it (from the twin this
    /// projection holds, or the stream loaded up to the version before); `None` otherwise.
    async fn amended_from(
        &self,
        event: &RecordedEvent,
    ) -> Result<Option<NaiveDate>, ProjectionError> {
        if event.event_type != "TransactionAmended" || event.is_shredded() {
            return Ok(None);
        }
        let ProfileEvent::TransactionAmended { transaction, .. } = self.repository.decode(event)?
        else {
            return Ok(None);
        };
        let id = transaction.transaction_id.as_str();
        let cached = {
            let folded = self.folded.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
            folded
                .get(&event.stream_id)
                .filter(|loaded| loaded.version.next().ok() == Some(event.stream_version))
                .map(|loaded| loaded.state.transaction(id).map(|t| t.transaction.date))
        };
        if let Some(date) = cached {
            return Ok(date);
        }
        let before = fintra_core::StreamVersion(event.stream_version.get().saturating_sub(1));
        let loaded = self.repository.load_at_version(&event.stream_id, before).await?;
        Ok(loaded.state.transaction(id).map(|t| t.transaction.date))
    }

    /// The twin right after `event`: folded incrementally when this projection saw the previous
    /// version, otherwise loaded up to that version.
    async fn twin_at(&self, event: &RecordedEvent) -> Result<Profile, ProjectionError> {
        let cached = {
            let mut folded = self.folded.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
            folded.remove(&event.stream_id)
        };
        let loaded = fold_next(&self.repository, cached, event).await?;
        let state = loaded.state.clone();
        self.folded
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .insert(event.stream_id.clone(), loaded);
        Ok(state)
    }
}

/// The twin just after `event`: `cached` (the twin just before it) with the event folded in, or
/// the stream reloaded up to the event when there is no such cache. Shared by the Views and
/// Pulse, which both walk the log keeping one twin per profile.
pub(crate) async fn fold_next<S: EventStore>(
    repository: &Repository<Profile, S>,
    cached: Option<Loaded<Profile>>,
    event: &RecordedEvent,
) -> Result<Loaded<Profile>, ProjectionError> {
    match cached {
        Some(mut loaded) if loaded.version.next().ok() == Some(event.stream_version) => {
            // An erased subject's event has no payload: the twin goes on without it.
            if !event.is_shredded() {
                let decoded = repository.decode(event)?;
                fintra_core::Aggregate::apply(&mut loaded.state, &decoded);
                loaded.last_occurred_at = decoded.occurred_at().or(loaded.last_occurred_at);
            }
            loaded.version = event.stream_version;
            Ok(loaded)
        }
        _ => Ok(repository.load_at_version(&event.stream_id, event.stream_version).await?),
    }
}

fn provenance(event: &RecordedEvent) -> Value {
    json!({
        "source_event_id": event.event_id,
        "source_version": event.stream_version.get(),
        "source_position": event.position.0,
    })
}

fn month_key(day: NaiveDate) -> String {
    format!("{:04}-{:02}", day.year(), day.month())
}

/// The day a twin's documents are "as of": its latest transaction, or the event's day.
fn as_of(profile: &Profile, event: &RecordedEvent) -> NaiveDate {
    profile.last_transaction_date().unwrap_or_else(|| event.occurred_at.date_naive())
}

/// The Unified 360 document of `profile` as of its latest transaction, with provenance.
pub fn unified_360_view(profile: &Profile, event: &RecordedEvent) -> Value {
    let report = fintra_twin::report(profile, as_of(profile, event));
    unified_360_of(profile, &report, event)
}

fn unified_360_of(
    profile: &Profile,
    report: &fintra_twin::TwinReport,
    event: &RecordedEvent,
) -> Value {
    let today = report.today;
    let sheet = &report.balance_sheet;
    let by_group: serde_json::Map<String, Value> = sheet
        .by_group
        .iter()
        .map(|(group, minor)| {
            let name = serde_json::to_value(group).ok().and_then(|v| v.as_str().map(str::to_owned));
            (name.unwrap_or_else(|| format!("{group:?}")), json!(minor))
        })
        .collect();
    let month_ago = fintra_twin::balance_sheet_on(profile, today - chrono::Duration::days(30));
    let view = fintra_twin::unified_360(report, month_ago.net_worth_minor);
    let meta = provenance(event);
    json!({
        "tenant_id": event.metadata.tenant_id.as_str(),
        "as_of": today,
        "net_worth": {
            "total": fintra_core::Money::new(view.net_worth.total_minor, view.net_worth.currency).to_string(),
            "total_minor": view.net_worth.total_minor,
            "currency": view.net_worth.currency,
            "change_30d_minor": view.net_worth.change_30d_minor,
        },
        "balance_sheet": {
            "total_assets_minor": sheet.total_assets_minor,
            "total_debt_minor": sheet.total_debt_minor,
            "by_group": by_group,
        },
        "cash_flow": {
            "status": view.cash_flow.status,
            "days_runway": view.cash_flow.days_runway,
            "safe_to_spend_minor": view.cash_flow.safe_to_spend_minor,
        },
        "alerts": view.alerts,
        "insights": view.insights,
        "solvency_score": report.solvency_score,
        "_meta": {
            "net_worth": meta, "balance_sheet": meta, "cash_flow": meta, "alerts": meta,
            "insights": meta,
        },
    })
}

/// Recurring income and bills with the monthly averages of the cash-flow engine.
pub fn recurring_view(profile: &Profile, event: &RecordedEvent) -> Value {
    let report = fintra_twin::report(profile, as_of(profile, event));
    recurring_of(&report, event)
}

fn recurring_of(report: &fintra_twin::TwinReport, event: &RecordedEvent) -> Value {
    let flow = &report.cashflow;
    json!({
        "tenant_id": event.metadata.tenant_id.as_str(),
        "as_of": report.today,
        "streams": flow.streams,
        "monthly_income_minor": flow.monthly_income_minor,
        "monthly_burn_minor": flow.monthly_burn_minor,
        "essential_spend_minor": flow.essential_spend_minor,
        "free_cash_flow_minor": flow.free_cash_flow_minor,
        "_meta": provenance(event),
    })
}

/// Spend by category for `month` with the previous month and the change per category.
pub fn spend_view(profile: &Profile, month: NaiveDate, event: &RecordedEvent) -> Value {
    let this = fintra_twin::spend_by_category(profile, month);
    let previous_month = month.checked_sub_months(Months::new(1)).unwrap_or(month);
    let previous = fintra_twin::spend_by_category(profile, previous_month);
    let mut categories: Vec<&String> = this.keys().chain(previous.keys()).collect();
    categories.sort();
    categories.dedup();
    let rows: Vec<Value> = categories
        .into_iter()
        .map(|c| {
            let (now, before) = (this.get(c).copied().unwrap_or(0), previous.get(c).copied().unwrap_or(0));
            json!({"category": c, "spend_minor": now, "previous_minor": before, "change_minor": now - before})
        })
        .collect();
    json!({
        "tenant_id": event.metadata.tenant_id.as_str(),
        "month": month_key(month),
        "previous_month": month_key(previous_month),
        "total_minor": this.values().sum::<i128>(),
        "previous_total_minor": previous.values().sum::<i128>(),
        "categories": rows,
        "_meta": provenance(event),
    })
}

/// Net worth at every month end from the first transaction to the latest.
pub fn net_worth_view(profile: &Profile, event: &RecordedEvent) -> Value {
    let first = profile.transactions().map(|t| t.transaction.date).min();
    let last = profile.last_transaction_date();
    let mut points = Vec::new();
    if let (Some(first), Some(last)) = (first, last) {
        let mut month = first.with_day(1).unwrap_or(first);
        while month <= last {
            let end = month
                .checked_add_months(Months::new(1))
                .and_then(|m| m.pred_opt())
                .unwrap_or(month)
                .min(last);
            points.push(json!({"date": end, "net_worth_minor": fintra_twin::balance_sheet_on(profile, end).net_worth_minor}));
            match month.checked_add_months(Months::new(1)) {
                Some(next) => month = next,
                None => break,
            }
        }
    }
    json!({
        "tenant_id": event.metadata.tenant_id.as_str(),
        "points": points,
        "_meta": provenance(event),
    })
}

/// A transactions query (spec §4.13: date range, `category_l1`, merchant).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct TransactionFilter {
    /// First booking date (inclusive).
    pub from: Option<NaiveDate>,
    /// Last booking date (inclusive).
    pub to: Option<NaiveDate>,
    /// Top-level category.
    pub category_l1: Option<String>,
    /// Cleaned merchant name (case-insensitive).
    pub merchant: Option<String>,
}

/// Posted, uncorrected transactions of `profile` matching `filter`, newest first.
pub fn query_transactions<'a>(
    profile: &'a Profile,
    filter: &TransactionFilter,
) -> Vec<&'a UnifiedTransaction> {
    let mut out: Vec<&UnifiedTransaction> = profile
        .transactions()
        .filter(|t| t.is_effective_posted())
        .map(|t| &t.transaction)
        .filter(|t| {
            filter.from.is_none_or(|d| t.date >= d) && filter.to.is_none_or(|d| t.date <= d)
        })
        .filter(|t| {
            filter
                .category_l1
                .as_deref()
                .is_none_or(|c| t.enrichment.as_ref().is_some_and(|e| e.category_l1() == c))
        })
        .filter(|t| {
            filter.merchant.as_deref().is_none_or(|m| {
                t.enrichment
                    .as_ref()
                    .and_then(|e| e.merchant_name.as_deref())
                    .is_some_and(|name| name.eq_ignore_ascii_case(m))
            })
        })
        .collect();
    out.sort_by(|a, b| (b.date, &b.transaction_id).cmp(&(a.date, &a.transaction_id)));
    out
}

#[async_trait]
impl<S: EventStore + 'static> RedisProjection for TwinViews<S> {
    fn name(&self) -> &str {
        "twin_views"
    }

    fn version(&self) -> u32 {
        // 2: amendments and categorisations update the views; 3: tenant, balance sheet and
        // the recurring document; 4: an amendment that moves a transaction to another month
        // rewrites the month it left as well.
        4
    }

    fn handles(&self, event_type: &str) -> bool {
        matches!(event_type, "ProfileCreated" | "AccountLinked" | "ManualAssetValued")
            || TRANSACTION_EVENTS.contains(&event_type)
    }

    async fn views(&self, event: &RecordedEvent) -> Result<Vec<(String, String)>, ProjectionError> {
        if event.stream_id.category() != <Profile as fintra_core::Aggregate>::CATEGORY {
            return Ok(Vec::new());
        }
        // An amendment may move a transaction to another month: that month's spend changes too.
        let moved_from = self.amended_from(event).await?;
        let profile = self.twin_at(event).await?;
        let stream = event.stream_id.as_str();
        let month = event.occurred_at.date_naive();
        let report = fintra_twin::report(&profile, as_of(&profile, event));
        let mut out = vec![
            (format!("unified360:{stream}"), unified_360_of(&profile, &report, event).to_string()),
            (format!("networth:{stream}"), net_worth_view(&profile, event).to_string()),
            (format!("recurring:{stream}"), recurring_of(&report, event).to_string()),
        ];
        if TRANSACTION_EVENTS.contains(&event.event_type.as_str()) {
            let first = |day: NaiveDate| day.with_day(1).unwrap_or(day);
            let mut months = vec![first(month)];
            months.extend(moved_from.map(first).filter(|m| *m != first(month)));
            for month in months {
                out.push((
                    format!("spend:{stream}:{}", month_key(month)),
                    spend_view(&profile, month, event).to_string(),
                ));
            }
        }
        Ok(out)
    }
}

#[async_trait]
impl<S: EventStore + 'static> crate::pg::PgProjection for TwinViews<S> {
    fn name(&self) -> &str {
        "twin_views"
    }

    fn version(&self) -> u32 {
        // 2: amendments and categorisations update the views; 3: tenant, balance sheet and
        // the recurring document; 4: an amendment that moves a transaction to another month
        // rewrites the month it left as well.
        4
    }

    fn handles(&self, event_type: &str) -> bool {
        <Self as RedisProjection>::handles(self, event_type)
    }

    fn create_table(&self, table: &str) -> String {
        format!(
            "CREATE TABLE IF NOT EXISTS {table} (key text PRIMARY KEY, position bigint NOT NULL, doc jsonb NOT NULL)"
        )
    }

    async fn forget(
        &self,
        conn: &mut sqlx::PgConnection,
        table: &str,
        subject: &str,
    ) -> Result<(), ProjectionError> {
        self.drop_twin(subject);
        sqlx::query(&format!(
            "DELETE FROM {table} WHERE key = $1 OR key = $2 OR key = $4 OR starts_with(key, $3)"
        ))
        .bind(format!("unified360:{subject}"))
        .bind(format!("networth:{subject}"))
        .bind(format!("spend:{subject}:"))
        .bind(format!("recurring:{subject}"))
        .execute(&mut *conn)
        .await
        .map_err(|e| ProjectionError::sink("postgres", e))?;
        Ok(())
    }

    async fn apply(
        &self,
        conn: &mut sqlx::PgConnection,
        table: &str,
        event: &RecordedEvent,
    ) -> Result<(), ProjectionError> {
        let position = crate::checkpoints::to_stored(event.position)?;
        for (key, json) in <Self as RedisProjection>::views(self, event).await? {
            let doc: Value = serde_json::from_str(&json).map_err(ProjectionError::refused)?;
            sqlx::query(&format!(
                "INSERT INTO {table} (key, position, doc) VALUES ($1, $2, $3)
                 ON CONFLICT (key) DO UPDATE SET position = EXCLUDED.position, doc = EXCLUDED.doc
                 WHERE {table}.position < EXCLUDED.position"
            ))
            .bind(key)
            .bind(position)
            .bind(doc)
            .execute(&mut *conn)
            .await
            .map_err(|e| ProjectionError::sink("postgres", e))?;
        }
        Ok(())
    }
}
