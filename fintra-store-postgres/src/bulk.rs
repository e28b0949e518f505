//! Bulk import: very large loads in one transaction through binary `COPY`.

use std::collections::{HashMap, HashSet};

use fintra_core::{Error, EventId, NewEvent, Position, RecordedEvent, Result, StreamId, TenantId};
use sqlx::{Acquire, PgConnection, Row};
use tracing::Instrument;

use crate::conn::Checkout;
use crate::error::{WriteFailure, backend, classify, to_i64, to_u64};
use crate::rows::recorded_events;
use crate::{EventLayout, PgEventStore, TRANSACTION_EVENTS_MAX};

/// Ids per lookup when checking whether a failed import is a retry.
const LOOKUP_IDS_MAX: usize = 10_000;

/// Progress of a running [`PgEventStore::bulk_import`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct BulkImportProgress {
    /// Events sent to the server so far.
    pub events_sent: u64,
    /// Events in the import.
    pub events_total: u64,
}

/// What a bulk import did.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct BulkImportResult {
    /// Events in the import.
    pub events: u64,
    /// Distinct streams they went to.
    pub streams: u64,
    /// Lowest position written.
    pub first_position: Position,
    /// Highest position written.
    pub last_position: Position,
    /// True when every event had been imported before with the same content and nothing was
    /// written now (a retry after a lost reply).
    pub already_imported: bool,
}

pub(crate) struct StreamPlan<'a> {
    stream: &'a StreamId,
    tenant: &'a TenantId,
    count: u64,
    /// The version of the stream's next event while rows are written (the version before its
    /// range once the head rows are reserved).
    pub(crate) next_version: u64,
}

fn plan(
    events: &[(StreamId, NewEvent)],
) -> Result<(Vec<StreamPlan<'_>>, HashMap<&StreamId, usize>)> {
    if events.is_empty() {
        return Err(Error::invalid("events", "a bulk import needs at least one event"));
    }
    fintra_core::backend::check_limit(
        "TRANSACTION_EVENTS_MAX",
        TRANSACTION_EVENTS_MAX,
        events.len(),
    )?;
    let mut ids = HashSet::with_capacity(events.len());
    let mut index: HashMap<&StreamId, usize> = HashMap::new();
    let mut plans: Vec<StreamPlan<'_>> = Vec::new();
    for (stream, event) in events {
        event.validate()?;
        // Checked here, before anything is sent: a bad value found while streaming rows used to
        // end the COPY midway and leave the connection out of step.
        if i32::try_from(event.schema_version).is_err() {
            return Err(Error::invalid("schema_version", "exceeds i32::MAX"));
        }
        if !ids.insert(event.event_id) {
            return Err(Error::invalid(
                "events",
                format!("event id {} appears twice", event.event_id),
            ));
        }
        let tenant = &event.metadata.tenant_id;
        let slot = *index.entry(stream).or_insert_with(|| {
            plans.push(StreamPlan { stream, tenant, count: 0, next_version: 0 });
            plans.len() - 1
        });
        if plans[slot].tenant != tenant {
            return Err(Error::invalid("tenant_id", format!("stream {stream} mixes tenants")));
        }
        plans[slot].count += 1;
    }
    Ok((plans, index))
}

impl PgEventStore {
    /// Imports `events` (each with its stream) atomically: all of them or none, appended after
    /// whatever each stream holds (`ExpectedVersion::Any`), in the given order, through binary
    /// `COPY`. `progress` is called after every chunk sent (about 4 MiB).
    ///
    /// At most [`TRANSACTION_EVENTS_MAX`] events per call; split larger loads into several calls.
    /// Retrying an import that committed (a lost reply) is a no-op reported by
    /// [`BulkImportResult::already_imported`].
    ///
    /// # Errors
    /// `InvalidInput`/`LimitExceeded` for bad events (nothing sent), `DuplicateEventId` when an
    /// id was recorded before with other content, `Backend`.
    pub async fn bulk_import(
        &self,
        events: &[(StreamId, NewEvent)],
        mut progress: impl FnMut(BulkImportProgress) + Send,
    ) -> Result<BulkImportResult> {
        let (plans, index) = plan(events)?;
        let span = tracing::info_span!(
            "fintra.pg.bulk_import",
            events = events.len(),
            streams = plans.len()
        );
        async {
            let mut conn = Checkout::acquire(self.pool()).await?;
            let outcome =
                self.bulk_import_on(&mut conn, events, plans, &index, &mut progress).await;
            conn.finish(&outcome);
            outcome
        }
        .instrument(span)
        .await
    }

    /// [`PgEventStore::bulk_import`] inside the caller's connection or sqlx transaction: the
    /// events commit or roll back with the host's own writes. Runs under a savepoint, so a
    /// refused import leaves the transaction usable. Positions continue the transaction's range;
    /// one transaction holds at most [`TRANSACTION_EVENTS_MAX`] events in all.
    ///
    /// # Errors
    /// As [`PgEventStore::bulk_import`]; `LimitExceeded` (`TRANSACTION_EVENTS_MAX`) when the
    /// transaction's range is full.
    pub async fn bulk_import_in(
        &self,
        conn: &mut PgConnection,
        events: &[(StreamId, NewEvent)],
        mut progress: impl FnMut(BulkImportProgress) + Send,
    ) -> Result<BulkImportResult> {
        let (plans, index) = plan(events)?;
        let span = tracing::info_span!("fintra.pg.bulk_import_in", events = events.len());
        self.bulk_import_on(conn, events, plans, &index, &mut progress).instrument(span).await
    }

    async fn bulk_import_on<'e>(
        &self,
        conn: &mut PgConnection,
        events: &'e [(StreamId, NewEvent)],
        mut plans: Vec<StreamPlan<'e>>,
        index: &HashMap<&'e StreamId, usize>,
        progress: &mut (impl FnMut(BulkImportProgress) + Send),
    ) -> Result<BulkImportResult> {
        // COPY FROM is refused where row-level security applies (a tenant's role): such
        // sessions import with multi-row INSERTs instead, which the policies check row by row.
        let rls: bool = sqlx::query_scalar("SELECT row_security_active('fintra_events')")
            .fetch_one(&mut *conn)
            .await
            .map_err(backend)?;
        let target = CopyTarget { layout: self.layout(), channel: self.channel(), rls };
        for _ in 0..IMPORT_ATTEMPTS_MAX {
            let mut tx = conn.begin().await.map_err(backend)?;
            let written = copy_all(&mut tx, events, &mut plans, index, &target, progress).await;
            let failure = match written {
                Ok(written) => {
                    tx.commit().await.map_err(backend)?;
                    return Ok(written);
                }
                Err(failure) => failure,
            };
            if let Err(rollback) = tx.rollback().await {
                // Report the import's own failure; the rollback's only says the connection broke.
                let cause = match failure {
                    WriteFailure::Other(error) => error,
                    WriteFailure::EventIdTaken | WriteFailure::CreatedConcurrently => {
                        Error::backend(std::io::Error::other("the import was refused"))
                    }
                };
                return Err(Error::backend(RollbackFailed { cause, rollback }));
            }
            match failure {
                WriteFailure::EventIdTaken => {
                    return already_imported(conn, self.layout(), events, plans.len()).await;
                }
                WriteFailure::Other(error) => return Err(error),
                WriteFailure::CreatedConcurrently => {}
            }
        }
        Err(Error::backend(std::io::Error::other(format!(
            "the import kept losing the race to create its streams ({IMPORT_ATTEMPTS_MAX} attempts)"
        ))))
    }
}

/// How often an import retries after another writer created one of its streams meanwhile
/// (possible only on the row-level-security path, which cannot upsert hidden rows).
const IMPORT_ATTEMPTS_MAX: usize = 4;

/// A failed import whose rollback failed too: the connection is unusable (`Backend`), and the
/// import's own error is the source.
#[derive(Debug, thiserror::Error)]
#[error("the bulk import failed ({cause}) and so did its rollback ({rollback})")]
struct RollbackFailed {
    #[source]
    cause: Error,
    rollback: sqlx::Error,
}

/// Where and how a bulk import writes: the table layout, the notification channel, and whether
/// row-level security applies (no COPY then).
struct CopyTarget<'a> {
    layout: EventLayout,
    channel: Option<&'a str>,
    rls: bool,
}

async fn copy_all<'e>(
    tx: &mut PgConnection,
    events: &'e [(StreamId, NewEvent)],
    plans: &mut [StreamPlan<'e>],
    index: &HashMap<&'e StreamId, usize>,
    target: &CopyTarget<'_>,
    progress: &mut (impl FnMut(BulkImportProgress) + Send),
) -> Result<BulkImportResult, WriteFailure> {
    let fail = WriteFailure::Other;
    let range = sqlx::query(include_str!("../sql/transaction_base.sql"))
        .fetch_one(&mut *tx)
        .await
        .map_err(classify)?;
    let base: i64 = range.try_get("base").map_err(|e| fail(backend(e)))?;
    let lo: i64 = range.try_get("lo").map_err(|e| fail(backend(e)))?;
    let used = usize::try_from(base - lo).unwrap_or(usize::MAX);
    let max = TRANSACTION_EVENTS_MAX;
    fintra_core::backend::check_limit(
        "TRANSACTION_EVENTS_MAX",
        max,
        used.saturating_add(events.len()),
    )
    .map_err(fail)?;
    reserve_heads(tx, plans, index, target.rls).await?;

    let total = u64::try_from(events.len()).unwrap_or(u64::MAX);
    let rows = crate::bulk_rows::Rows { events, plans, index, base, total };
    let position = if target.rls {
        crate::bulk_rows::insert_rows(tx, rows, progress).await?
    } else {
        crate::bulk_rows::copy_rows(tx, rows, progress).await?
    };
    if target.layout == EventLayout::Partitioned {
        // Claim the ids in the same transaction; a taken one fails the import on the id
        // table's primary key, which `classify` reports as `EventIdTaken`.
        sqlx::query(
            "INSERT INTO fintra_event_ids (event_id, position) SELECT event_id, position \
             FROM fintra_events WHERE position > $1 AND position <= $2",
        )
        .bind(base)
        .bind(position)
        .execute(&mut *tx)
        .await
        .map_err(classify)?;
    }
    if let Some(channel) = target.channel {
        let notify = sqlx::query("SELECT pg_notify($1, '')").bind(channel);
        notify.execute(&mut *tx).await.map_err(classify)?;
    }
    let as_position = |p: i64| to_u64("position", p).map(Position).map_err(fail);
    Ok(BulkImportResult {
        events: total,
        streams: u64::try_from(plans.len()).unwrap_or(u64::MAX),
        first_position: as_position(base + 1)?,
        last_position: as_position(position)?,
        already_imported: false,
    })
}

/// Reserves each stream's version range on its head row; sets `next_version` to the version
/// before the range.
async fn reserve_heads(
    tx: &mut PgConnection,
    plans: &mut [StreamPlan<'_>],
    index: &HashMap<&StreamId, usize>,
    rls: bool,
) -> Result<(), WriteFailure> {
    let fail = WriteFailure::Other;
    // Heads are locked in stream-id order, so concurrent imports over overlapping streams wait
    // for each other instead of deadlocking.
    let mut order: Vec<&StreamPlan<'_>> = plans.iter().collect();
    order.sort_unstable_by(|a, b| a.stream.as_str().cmp(b.stream.as_str()));
    let counts =
        order.iter().map(|p| to_i64("count", p.count)).collect::<Result<Vec<_>>>().map_err(fail)?;
    let sql = if rls {
        include_str!("../sql/reserve_heads_rls.sql")
    } else {
        include_str!("../sql/reserve_heads.sql")
    };
    let rows = sqlx::query(sql)
        .bind(order.iter().map(|p| p.stream.as_str()).collect::<Vec<_>>())
        .bind(order.iter().map(|p| p.tenant.as_str()).collect::<Vec<_>>())
        .bind(counts)
        .fetch_all(&mut *tx)
        .await
        .map_err(classify)?;
    let mut reserved = vec![false; plans.len()];
    for row in rows {
        let stream: String = row.try_get("stream_id").map_err(|e| fail(backend(e)))?;
        let tenant: String = row.try_get("tenant_id").map_err(|e| fail(backend(e)))?;
        let version: i64 = row.try_get("version").map_err(|e| fail(backend(e)))?;
        let stream = StreamId::new(stream).map_err(fail)?;
        let slot = index[&stream];
        reserved[slot] = true;
        let plan = &mut plans[slot];
        if plan.tenant.as_str() != tenant {
            return Err(fail(crate::append::foreign_stream()));
        }
        plan.next_version = to_u64("version", version).map_err(fail)? - plan.count;
    }
    if reserved.contains(&false) {
        // Under row-level security: a stream this session cannot see (another tenant's), or
        // one created concurrently (the import is retried).
        let missing: Vec<&str> = plans
            .iter()
            .zip(&reserved)
            .filter(|(_, reserved)| !**reserved)
            .map(|(p, _)| p.stream.as_str())
            .collect();
        let visible: i64 =
            sqlx::query_scalar("SELECT count(*) FROM fintra_streams WHERE stream_id = ANY($1)")
                .bind(&missing)
                .fetch_one(&mut *tx)
                .await
                .map_err(classify)?;
        if usize::try_from(visible).unwrap_or(0) < missing.len() {
            return Err(fail(crate::append::foreign_stream()));
        }
        return Err(WriteFailure::CreatedConcurrently);
    }
    Ok(())
}

/// After a duplicate-id failure: a retry of a committed import if every event is recorded in
/// its stream with the same content.
async fn already_imported(
    conn: &mut PgConnection,
    layout: EventLayout,
    events: &[(StreamId, NewEvent)],
    streams: usize,
) -> Result<BulkImportResult> {
    let select = crate::append::select_by_ids_sql(layout);
    let mut recorded: HashMap<EventId, RecordedEvent> = HashMap::with_capacity(events.len());
    for chunk in events.chunks(LOOKUP_IDS_MAX) {
        let ids: Vec<EventId> = chunk.iter().map(|(_, e)| e.event_id).collect();
        let rows = sqlx::query(select).bind(&ids).fetch_all(&mut *conn).await.map_err(backend)?;
        recorded.extend(recorded_events(&rows)?.into_iter().map(|e| (e.event_id, e)));
    }
    let (mut first, mut last) = (u64::MAX, 0u64);
    for (stream, event) in events {
        match recorded.get(&event.event_id) {
            Some(old) if old.stream_id == *stream && old.same_content_as(event) => {
                first = first.min(old.position.get());
                last = last.max(old.position.get());
            }
            _ => return Err(Error::DuplicateEventId { event_id: event.event_id }),
        }
    }
    Ok(BulkImportResult {
        events: u64::try_from(events.len()).unwrap_or(u64::MAX),
        streams: u64::try_from(streams).unwrap_or(u64::MAX),
        first_position: Position(first),
        last_position: Position(last),
        already_imported: true,
    })
}
