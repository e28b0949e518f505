//! The append path: one statement per batch, on a pooled connection or the caller's.

use std::collections::HashMap;

use fintra_core::backend::replayed_append;
use fintra_core::{
    AppendResult, Error, EventId, ExpectedVersion, NewEvent, Position, Result, StreamId,
    StreamVersion,
};
use sqlx::types::Json;
use sqlx::{PgConnection, Row};

use crate::EventLayout;
use crate::error::{WriteFailure, backend, classify, to_i64, to_u64};
use crate::rows::recorded_events;

/// Selects the recorded events whose ids are in `$1` (a `uuid[]`), for either layout: the
/// partitioned layout finds positions through its id table (its events carry no id index).
pub(crate) fn select_by_ids_sql(layout: EventLayout) -> &'static str {
    match layout {
        EventLayout::Single => {
            concat!(include_str!("../sql/select_events.sql"), " WHERE event_id = ANY($1)")
        }
        EventLayout::Partitioned => concat!(
            include_str!("../sql/select_events.sql"),
            " WHERE position = ANY(ARRAY(SELECT r.position FROM fintra_recorded_event_ids($1) r))"
        ),
    }
}

/// The append statements, assembled once: one per kind of expected version, each in two forms —
/// for a statement that is its own transaction (a pooled connection in autocommit, where the
/// transaction's position range is known to be empty) and for one inside a caller's
/// transaction (which must find where earlier appends of the transaction left off).
#[derive(Debug)]
pub(crate) struct AppendSql {
    own: ByExpected,
    nested: ByExpected,
    /// The group-commit statement (several streams, one statement): `crate::group`.
    pub(crate) batch: String,
    pub(crate) layout: EventLayout,
}

/// Where a statement runs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Txn {
    /// Its own transaction: autocommit on a pooled connection.
    Own,
    /// Inside a transaction that may already have appended.
    Nested,
}

#[derive(Debug)]
struct ByExpected {
    any: String,
    no_stream: String,
    exact: String,
}

impl AppendSql {
    /// `channel`: where to notify, already validated as a plain identifier; `None`: no notify.
    pub(crate) fn new(channel: Option<&str>, layout: EventLayout) -> Self {
        // The partitioned layout claims each id in its id table in the same statement; a taken
        // id fails the statement on that table's primary key, like the single layout's unique
        // constraint does.
        // The partitioned layout's rows of this transaction all carry its start time
        // (`recorded_at` defaults to now()), so the lookup of its last position can skip every
        // older partition instead of probing each one's index.
        let (ids_cte, own_rows) = match layout {
            EventLayout::Single => ("", ""),
            EventLayout::Partitioned => (
                ",\nids AS (INSERT INTO fintra_event_ids (event_id, position) \
                 SELECT event_id, position FROM ins)",
                "recorded_at >= now() AND ",
            ),
        };
        let (notify_cte, notify_column) = match channel {
            Some(channel) => (
                format!(
                    ",\nnotify AS (SELECT pg_notify('{channel}', '') FROM (SELECT 1 FROM ins LIMIT 1) AS one)"
                ),
                ", (SELECT count(*) FROM notify) AS notified",
            ),
            None => (String::new(), ""),
        };
        let probe = format!(
            "SELECT COALESCE((SELECT max(position) FROM fintra_events \
             WHERE {own_rows}position > txn.lo AND position < txn.lo + 1048576), txn.lo) \
             AS position, txn.lo FROM txn"
        );
        let empty = "SELECT txn.lo AS position, txn.lo FROM txn";
        let build = |head: &str, last: &str| {
            include_str!("../sql/append.sql")
                .replace("{head}", head.trim_end())
                .replace("{last}", last)
                .replace("{ids}", ids_cte)
                .replace("{notify}", &notify_cte)
                .replace("{notify_column}", notify_column)
        };
        let by_expected = |last: &str| ByExpected {
            any: build(include_str!("../sql/head_any.sql"), last),
            no_stream: build(include_str!("../sql/head_no_stream.sql"), last),
            exact: build(include_str!("../sql/head_exact.sql"), last),
        };
        let batch = include_str!("../sql/append_batch.sql")
            .replace("{ids}", ids_cte)
            .replace("{notify}", &notify_cte)
            .replace("{notify_column}", notify_column);
        Self { own: by_expected(empty), nested: by_expected(&probe), batch, layout }
    }

    fn for_expected(&self, txn: Txn, expected: ExpectedVersion) -> &str {
        let set = match txn {
            Txn::Own => &self.own,
            Txn::Nested => &self.nested,
        };
        match expected {
            ExpectedVersion::Any => &set.any,
            ExpectedVersion::NoStream | ExpectedVersion::Exact(StreamVersion::NONE) => {
                &set.no_stream
            }
            ExpectedVersion::Exact(_) => &set.exact,
        }
    }
}

/// What the append statement reported.
pub(crate) enum Attempt {
    Appended(AppendResult),
    /// The head row refused (expected version or tenant); nothing was written.
    Refused,
    /// Only part of the batch fit the transaction's position range (caller's transaction only).
    TransactionFull,
    Failed(WriteFailure),
}

/// Runs the append statement once. Not atomic on its own when it returns `TransactionFull`: the
/// caller must roll back (the savepoint in `append_in`).
pub(crate) async fn attempt(
    conn: &mut PgConnection,
    sql: &AppendSql,
    txn: Txn,
    stream: &StreamId,
    expected: ExpectedVersion,
    events: &[NewEvent],
) -> Result<Attempt> {
    let count = to_i64("events", u64::try_from(events.len()).unwrap_or(u64::MAX))?;
    let expected_version = match expected {
        ExpectedVersion::Exact(v) => to_i64("expected_version", v.get())?,
        ExpectedVersion::Any | ExpectedVersion::NoStream => 0,
    };
    let schema_versions = events
        .iter()
        .map(|e| i32::try_from(e.schema_version))
        .collect::<Result<Vec<i32>, _>>()
        .map_err(|_| Error::invalid("schema_version", "exceeds i32::MAX"))?;
    let query = sqlx::query(sql.for_expected(txn, expected))
        .bind(stream.as_str())
        .bind(events[0].metadata.tenant_id.as_str())
        .bind(count)
        .bind(expected_version)
        .bind(events.iter().map(|e| e.event_id).collect::<Vec<_>>())
        .bind(events.iter().map(|e| e.event_type.as_str()).collect::<Vec<_>>())
        .bind(schema_versions)
        .bind(events.iter().map(|e| e.occurred_at).collect::<Vec<_>>())
        .bind(events.iter().map(|e| e.metadata.correlation_id).collect::<Vec<_>>())
        .bind(events.iter().map(|e| e.metadata.causation_id).collect::<Vec<_>>())
        .bind(events.iter().map(|e| e.metadata.actor.to_storage()).collect::<Vec<_>>())
        .bind(events.iter().map(|e| Json(&e.metadata.headers)).collect::<Vec<_>>())
        .bind(events.iter().map(|e| e.content_type.as_str()).collect::<Vec<_>>())
        .bind(events.iter().map(|e| e.payload.as_ref()).collect::<Vec<&[u8]>>());
    let row = match query.fetch_one(&mut *conn).await {
        Ok(row) => row,
        Err(error) => return Ok(Attempt::Failed(classify(error))),
    };
    let inserted: i64 = row.try_get("inserted").map_err(backend)?;
    let range_used: i64 = row.try_get("range_used").map_err(backend)?;
    // The head row moved but not every event fit the transaction's position range (the insert's
    // WHERE dropped the rest): the caller rolls the savepoint back.
    let range_free = i64::try_from(crate::TRANSACTION_EVENTS_MAX).unwrap_or(i64::MAX) - range_used;
    if inserted != count && range_free < count {
        return Ok(Attempt::TransactionFull);
    }
    if inserted == 0 {
        return Ok(Attempt::Refused);
    }
    let get = |name: &'static str| -> Result<u64> {
        to_u64(name, row.try_get::<i64, _>(name).map_err(backend)?)
    };
    Ok(Attempt::Appended(AppendResult {
        first_version: StreamVersion(get("first_version")?),
        last_version: StreamVersion(get("last_version")?),
        first_position: Position(get("first_position")?),
        last_position: Position(get("last_position")?),
        replayed: false,
    }))
}

/// Why an append statement wrote nothing.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Refusal {
    /// The head row refused (expected version or tenant).
    Head,
    /// The unique constraint on event ids fired.
    EventIdTaken,
}

/// After a refused or failed append: an idempotent retry (the original result), a reused id
/// (`DuplicateEventId`), a stream of another tenant (`InvalidInput`), or a version `Conflict`.
///
/// Under row-level security another tenant's rows are invisible, so a refusal this session
/// cannot explain from what it sees is answered without revealing anything about them: a taken
/// event id is `DuplicateEventId` (ids are random, and the constraint already refused it), and a
/// stream head that refused without being visible is `InvalidInput` — the same answer the owner
/// gets for another tenant's stream, never a `Conflict` whose version would tell it apart.
pub(crate) async fn explain_refusal(
    conn: &mut PgConnection,
    layout: EventLayout,
    stream: &StreamId,
    expected: ExpectedVersion,
    events: &[NewEvent],
    refusal: Refusal,
) -> Result<AppendResult> {
    let ids: Vec<EventId> = events.iter().map(|e| e.event_id).collect();
    let select = select_by_ids_sql(layout);
    let rows = sqlx::query(select).bind(&ids).fetch_all(&mut *conn).await.map_err(backend)?;
    let recorded: HashMap<EventId, _> =
        recorded_events(&rows)?.into_iter().map(|e| (e.event_id, e)).collect();
    if let Some(original) = replayed_append(stream, events, |id| recorded.get(id))? {
        return Ok(original);
    }
    // Recorded ids this session cannot see: another tenant's, or (warm store) tiered ones.
    if refusal == Refusal::EventIdTaken || layout == EventLayout::Partitioned {
        let taken: Vec<EventId> =
            sqlx::query_scalar("SELECT event_id FROM fintra_recorded_event_ids($1)")
                .bind(&ids)
                .fetch_all(&mut *conn)
                .await
                .map_err(backend)?;
        if let Some(event_id) = ids.iter().find(|id| taken.contains(id)) {
            return Err(Error::DuplicateEventId { event_id: *event_id });
        }
    }
    let head = sqlx::query("SELECT version, tenant_id FROM fintra_streams WHERE stream_id = $1")
        .bind(stream.as_str())
        .fetch_optional(&mut *conn)
        .await
        .map_err(backend)?;
    let Some(head) = head else {
        // Nothing visible, yet the head refused: another tenant's stream (an Exact append to a
        // stream that does not exist is the one refusal with no head row, and is a conflict).
        if matches!(expected, ExpectedVersion::Exact(v) if v != StreamVersion::NONE) {
            return Err(Error::Conflict {
                stream: stream.clone(),
                expected,
                actual: StreamVersion::NONE,
            });
        }
        return Err(foreign_stream());
    };
    let version: i64 = head.try_get("version").map_err(backend)?;
    let tenant: String = head.try_get("tenant_id").map_err(backend)?;
    if tenant != events[0].metadata.tenant_id.as_str() {
        return Err(foreign_stream());
    }
    let actual = StreamVersion(to_u64("version", version)?);
    Err(Error::Conflict { stream: stream.clone(), expected, actual })
}

/// The one answer for a stream that belongs to another tenant, visible or not: it says the id
/// cannot be used, never whose it is, its version or anything in it.
pub(crate) fn foreign_stream() -> Error {
    Error::invalid("stream_id", "the stream id is not available to this tenant")
}
