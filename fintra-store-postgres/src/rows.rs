//! Decoding event rows into [`RecordedEvent`]s, strictly: a row that breaks an invariant is
//! `Corrupted`, never a panic.

use std::collections::{BTreeMap, HashMap};

use bytes::Bytes;
use chrono::{DateTime, Utc};
use fintra_core::{
    Actor, ContentType, Error, EventMetadata, Position, RecordedEvent, Result, StreamId,
    StreamVersion, TenantId,
};
use sqlx::Row;
use sqlx::postgres::PgRow;
use uuid::Uuid;

use crate::error::{backend, to_u64};

// Column indices of sql/select_events.sql (by index: a name lookup per column per row costs).
const POSITION: usize = 0;
const EVENT_ID: usize = 1;
const STREAM_ID: usize = 2;
const STREAM_VERSION: usize = 3;
const TENANT_ID: usize = 4;
const EVENT_TYPE: usize = 5;
const SCHEMA_VERSION: usize = 6;
const RECORDED_AT: usize = 7;
const OCCURRED_AT: usize = 8;
const CORRELATION_ID: usize = 9;
const CAUSATION_ID: usize = 10;
const ACTOR: usize = 11;
const HEADERS: usize = 12;
const CONTENT_TYPE: usize = 13;
const PAYLOAD: usize = 14;

pub(crate) fn corrupted(field: &str, error: impl std::fmt::Display) -> Error {
    Error::corrupted(format!("unreadable {field} in fintra_events: {error}"))
}

/// Validated ids seen earlier: a page usually repeats a few streams and one tenant, so each is
/// validated and allocated once. Shared by both decoding paths; the pipelined catch-up keeps
/// one across its pages (a log spread over many streams repeats them page after page), which
/// [`IdCache::bound`] keeps from growing without limit.
#[derive(Default)]
pub(crate) struct IdCache {
    streams: HashMap<String, StreamId>,
    tenants: HashMap<String, TenantId>,
}

/// Most stream ids an [`IdCache`] keeps across pages before it starts afresh (checked between
/// pages, so it holds at most this plus one page of ids: a few MB for typical ids, under 20 MB
/// for maximal ones).
const CACHED_STREAMS_MAX: usize = 20_000;

impl IdCache {
    /// Starts afresh once the cache holds more than [`CACHED_STREAMS_MAX`] stream ids: called
    /// between pages by a reader that keeps one cache for many.
    pub(crate) fn bound(&mut self) {
        if self.streams.len() > CACHED_STREAMS_MAX {
            self.streams = HashMap::new();
        }
        if self.tenants.len() > CACHED_STREAMS_MAX {
            self.tenants = HashMap::new();
        }
    }

    pub(crate) fn stream(&mut self, raw: &str) -> Result<StreamId> {
        if let Some(id) = self.streams.get(raw) {
            return Ok(id.clone());
        }
        let id = StreamId::new(raw).map_err(|e| corrupted("stream_id", e))?;
        self.streams.insert(raw.to_owned(), id.clone());
        Ok(id)
    }

    pub(crate) fn tenant(&mut self, raw: &str) -> Result<TenantId> {
        if let Some(id) = self.tenants.get(raw) {
            return Ok(id.clone());
        }
        let id = TenantId::new(raw).map_err(|e| corrupted("tenant_id", e))?;
        self.tenants.insert(raw.to_owned(), id.clone());
        Ok(id)
    }
}

/// Parses the headers column's JSON (the common empty object without a parser).
pub(crate) fn parse_headers(json: &str) -> Result<BTreeMap<String, String>> {
    if json == "{}" {
        return Ok(BTreeMap::new());
    }
    serde_json::from_str(json).map_err(|e| corrupted("headers", e))
}

fn headers(row: &PgRow) -> Result<BTreeMap<String, String>> {
    let json: sqlx::types::Json<&serde_json::value::RawValue> =
        row.try_get(HEADERS).map_err(|e| corrupted("headers", e))?;
    parse_headers(json.0.get())
}

fn recorded_event(row: &PgRow, cache: &mut IdCache) -> Result<RecordedEvent> {
    let position: i64 = row.try_get(POSITION).map_err(backend)?;
    let version: i64 = row.try_get(STREAM_VERSION).map_err(backend)?;
    let schema_version: i32 = row.try_get(SCHEMA_VERSION).map_err(backend)?;
    let actor: &str = row.try_get(ACTOR).map_err(backend)?;
    let payload: &[u8] = row.try_get(PAYLOAD).map_err(backend)?;
    let content_type: &str = row.try_get(CONTENT_TYPE).map_err(backend)?;
    Ok(RecordedEvent {
        event_id: row.try_get::<Uuid, _>(EVENT_ID).map_err(backend)?,
        stream_id: cache.stream(row.try_get(STREAM_ID).map_err(backend)?)?,
        stream_version: StreamVersion(to_u64("stream_version", version)?),
        position: Position(to_u64("position", position)?),
        event_type: row.try_get(EVENT_TYPE).map_err(backend)?,
        schema_version: u32::try_from(schema_version)
            .map_err(|e| corrupted("schema_version", e))?,
        recorded_at: row.try_get::<DateTime<Utc>, _>(RECORDED_AT).map_err(backend)?,
        occurred_at: row.try_get::<DateTime<Utc>, _>(OCCURRED_AT).map_err(backend)?,
        metadata: EventMetadata {
            tenant_id: cache.tenant(row.try_get(TENANT_ID).map_err(backend)?)?,
            correlation_id: row.try_get(CORRELATION_ID).map_err(backend)?,
            causation_id: row.try_get(CAUSATION_ID).map_err(backend)?,
            actor: Actor::from_storage(actor)?,
            headers: headers(row)?,
        },
        content_type: ContentType::from_stored(content_type),
        payload: Bytes::copy_from_slice(payload),
    })
}

/// Decodes a page of rows selected with `sql/select_events.sql`.
pub(crate) fn recorded_events(rows: &[PgRow]) -> Result<Vec<RecordedEvent>> {
    let mut cache = IdCache::default();
    rows.iter().map(|row| recorded_event(row, &mut cache)).collect()
}
