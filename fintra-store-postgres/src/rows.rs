//! Decoding event rows into [`RecordedEvent`]s, strictly: a row that breaks an invariant is
//! `Corrupted`, never a panic.

use std::collections::BTreeMap;

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

fn corrupted(field: &str, error: impl std::fmt::Display) -> Error {
    Error::corrupted(format!("unreadable {field} in fintra_events: {error}"))
}

pub(crate) fn recorded_event(row: &PgRow) -> Result<RecordedEvent> {
    let position: i64 = row.try_get("position").map_err(backend)?;
    let version: i64 = row.try_get("stream_version").map_err(backend)?;
    let schema_version: i32 = row.try_get("schema_version").map_err(backend)?;
    let stream: String = row.try_get("stream_id").map_err(backend)?;
    let tenant: String = row.try_get("tenant_id").map_err(backend)?;
    let actor: String = row.try_get("actor").map_err(backend)?;
    let headers: sqlx::types::Json<BTreeMap<String, String>> =
        row.try_get("headers").map_err(|e| corrupted("headers", e))?;
    let payload: Vec<u8> = row.try_get("payload").map_err(backend)?;
    let content_type: String = row.try_get("content_type").map_err(backend)?;
    Ok(RecordedEvent {
        event_id: row.try_get::<Uuid, _>("event_id").map_err(backend)?,
        stream_id: StreamId::new(stream).map_err(|e| corrupted("stream_id", e))?,
        stream_version: StreamVersion(to_u64("stream_version", version)?),
        position: Position(to_u64("position", position)?),
        event_type: row.try_get("event_type").map_err(backend)?,
        schema_version: u32::try_from(schema_version)
            .map_err(|e| corrupted("schema_version", e))?,
        recorded_at: row.try_get::<DateTime<Utc>, _>("recorded_at").map_err(backend)?,
        occurred_at: row.try_get::<DateTime<Utc>, _>("occurred_at").map_err(backend)?,
        metadata: EventMetadata {
            tenant_id: TenantId::new(tenant).map_err(|e| corrupted("tenant_id", e))?,
            correlation_id: row.try_get("correlation_id").map_err(backend)?,
            causation_id: row.try_get("causation_id").map_err(backend)?,
            actor: Actor::from_storage(&actor)?,
            headers: headers.0,
        },
        content_type: ContentType::new(content_type),
        payload: Bytes::from(payload),
    })
}

pub(crate) fn recorded_events(rows: &[PgRow]) -> Result<Vec<RecordedEvent>> {
    rows.iter().map(recorded_event).collect()
}
