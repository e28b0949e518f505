//! The Arrow form of archived events (the schema, both conversions) and the content hash.

use std::sync::Arc;

use arrow::array::{
    Array, ArrayRef, BinaryArray, BinaryBuilder, StringArray, StringBuilder,
    TimestampMicrosecondArray, TimestampMicrosecondBuilder, UInt32Array, UInt32Builder,
    UInt64Array, UInt64Builder,
};
use arrow::datatypes::{DataType, Field, Schema, TimeUnit};
use arrow::record_batch::RecordBatch;
use bytes::Bytes;
use chrono::DateTime;
use fintra_core::{
    Actor, ContentType, EventMetadata, Position, RecordedEvent, StreamId, StreamVersion, TenantId,
};
use sha2::{Digest, Sha256};

use crate::ArchiveError;

/// The Arrow schema of archive files.
pub fn archive_schema() -> Arc<Schema> {
    let ts = DataType::Timestamp(TimeUnit::Microsecond, Some("UTC".into()));
    Arc::new(Schema::new(vec![
        Field::new("position", DataType::UInt64, false),
        Field::new("event_id", DataType::Utf8, false),
        Field::new("stream_id", DataType::Utf8, false),
        Field::new("stream_version", DataType::UInt64, false),
        Field::new("event_type", DataType::Utf8, false),
        Field::new("schema_version", DataType::UInt32, false),
        Field::new("occurred_at", ts.clone(), false),
        Field::new("recorded_at", ts, false),
        Field::new("tenant_id", DataType::Utf8, false),
        Field::new("correlation_id", DataType::Utf8, true),
        Field::new("causation_id", DataType::Utf8, true),
        Field::new("actor", DataType::Utf8, false),
        Field::new("headers", DataType::Utf8, false),
        Field::new("content_type", DataType::Utf8, false),
        Field::new("payload", DataType::Binary, false),
    ]))
}

/// The canonical bytes of an event for the content hash.
fn hash_event(hasher: &mut Sha256, e: &RecordedEvent) {
    let headers = serde_json::to_string(&e.metadata.headers).unwrap_or_default();
    for part in [
        e.position.0.to_string(),
        e.event_id.to_string(),
        e.stream_id.as_str().to_owned(),
        e.stream_version.get().to_string(),
        e.event_type.clone(),
        e.schema_version.to_string(),
        e.occurred_at.timestamp_micros().to_string(),
        e.recorded_at.timestamp_micros().to_string(),
        e.metadata.tenant_id.as_str().to_owned(),
        e.metadata.correlation_id.map(|u| u.to_string()).unwrap_or_default(),
        e.metadata.causation_id.map(|u| u.to_string()).unwrap_or_default(),
        e.metadata.actor.to_storage(),
        headers,
        e.content_type.as_str().to_owned(),
    ] {
        hasher.update((part.len() as u64).to_le_bytes());
        hasher.update(part.as_bytes());
    }
    hasher.update((e.payload.len() as u64).to_le_bytes());
    hasher.update(&e.payload);
}

/// The content hash of events in log order.
pub fn content_hash(events: &[RecordedEvent]) -> String {
    let mut hasher = Sha256::new();
    events.iter().for_each(|e| hash_event(&mut hasher, e));
    hex(&hasher.finalize())
}

pub(crate) fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

pub(crate) fn to_batch(events: &[RecordedEvent]) -> Result<RecordBatch, ArchiveError> {
    let n = events.len();
    let mut position = UInt64Builder::with_capacity(n);
    let mut event_id = StringBuilder::new();
    let mut stream = StringBuilder::new();
    let mut version = UInt64Builder::with_capacity(n);
    let mut event_type = StringBuilder::new();
    let mut schema_version = UInt32Builder::with_capacity(n);
    let mut occurred = TimestampMicrosecondBuilder::with_capacity(n).with_timezone("UTC");
    let mut recorded = TimestampMicrosecondBuilder::with_capacity(n).with_timezone("UTC");
    let mut tenant = StringBuilder::new();
    let mut correlation = StringBuilder::new();
    let mut causation = StringBuilder::new();
    let mut actor = StringBuilder::new();
    let mut headers = StringBuilder::new();
    let mut content_type = StringBuilder::new();
    let mut payload = BinaryBuilder::new();
    for e in events {
        position.append_value(e.position.0);
        event_id.append_value(e.event_id.to_string());
        stream.append_value(e.stream_id.as_str());
        version.append_value(e.stream_version.get());
        event_type.append_value(&e.event_type);
        schema_version.append_value(e.schema_version);
        occurred.append_value(e.occurred_at.timestamp_micros());
        recorded.append_value(e.recorded_at.timestamp_micros());
        tenant.append_value(e.metadata.tenant_id.as_str());
        correlation.append_option(e.metadata.correlation_id.map(|u| u.to_string()));
        causation.append_option(e.metadata.causation_id.map(|u| u.to_string()));
        actor.append_value(e.metadata.actor.to_storage());
        headers.append_value(
            serde_json::to_string(&e.metadata.headers).unwrap_or_else(|_| "{}".into()),
        );
        content_type.append_value(e.content_type.as_str());
        payload.append_value(&e.payload);
    }
    let columns: Vec<ArrayRef> = vec![
        Arc::new(position.finish()),
        Arc::new(event_id.finish()),
        Arc::new(stream.finish()),
        Arc::new(version.finish()),
        Arc::new(event_type.finish()),
        Arc::new(schema_version.finish()),
        Arc::new(occurred.finish()),
        Arc::new(recorded.finish()),
        Arc::new(tenant.finish()),
        Arc::new(correlation.finish()),
        Arc::new(causation.finish()),
        Arc::new(actor.finish()),
        Arc::new(headers.finish()),
        Arc::new(content_type.finish()),
        Arc::new(payload.finish()),
    ];
    Ok(RecordBatch::try_new(archive_schema(), columns)?)
}

fn column<'a, T: 'static>(
    batch: &'a RecordBatch,
    name: &str,
    archive: &str,
) -> Result<&'a T, ArchiveError> {
    batch.column_by_name(name).and_then(|c| c.as_any().downcast_ref::<T>()).ok_or_else(|| {
        ArchiveError::Corrupted {
            archive: archive.to_owned(),
            reason: format!("column {name} missing or of another type"),
        }
    })
}

pub(crate) fn from_batch(
    batch: &RecordBatch,
    archive: &str,
) -> Result<Vec<RecordedEvent>, ArchiveError> {
    let corrupted =
        |reason: String| ArchiveError::Corrupted { archive: archive.to_owned(), reason };
    let position = column::<UInt64Array>(batch, "position", archive)?;
    let event_id = column::<StringArray>(batch, "event_id", archive)?;
    let stream = column::<StringArray>(batch, "stream_id", archive)?;
    let version = column::<UInt64Array>(batch, "stream_version", archive)?;
    let event_type = column::<StringArray>(batch, "event_type", archive)?;
    let schema_version = column::<UInt32Array>(batch, "schema_version", archive)?;
    let occurred = column::<TimestampMicrosecondArray>(batch, "occurred_at", archive)?;
    let recorded = column::<TimestampMicrosecondArray>(batch, "recorded_at", archive)?;
    let tenant = column::<StringArray>(batch, "tenant_id", archive)?;
    let correlation = column::<StringArray>(batch, "correlation_id", archive)?;
    let causation = column::<StringArray>(batch, "causation_id", archive)?;
    let actor = column::<StringArray>(batch, "actor", archive)?;
    let headers = column::<StringArray>(batch, "headers", archive)?;
    let content_type = column::<StringArray>(batch, "content_type", archive)?;
    let payload = column::<BinaryArray>(batch, "payload", archive)?;
    let uuid =
        |s: &str| uuid::Uuid::parse_str(s).map_err(|e| corrupted(format!("uuid {s:?}: {e}")));
    let time = |micros: i64| {
        DateTime::from_timestamp_micros(micros)
            .ok_or_else(|| corrupted(format!("timestamp {micros}")))
    };
    let optional = |array: &StringArray, i: usize| -> Result<Option<uuid::Uuid>, ArchiveError> {
        if array.is_null(i) { Ok(None) } else { uuid(array.value(i)).map(Some) }
    };
    (0..batch.num_rows())
        .map(|i| {
            Ok(RecordedEvent {
                event_id: uuid(event_id.value(i))?,
                stream_id: StreamId::new(stream.value(i))?,
                stream_version: StreamVersion(version.value(i)),
                position: Position(position.value(i)),
                event_type: event_type.value(i).to_owned(),
                schema_version: schema_version.value(i),
                recorded_at: time(recorded.value(i))?,
                occurred_at: time(occurred.value(i))?,
                metadata: EventMetadata {
                    tenant_id: TenantId::new(tenant.value(i))?,
                    correlation_id: optional(correlation, i)?,
                    causation_id: optional(causation, i)?,
                    actor: Actor::from_storage(actor.value(i))?,
                    headers: serde_json::from_str(headers.value(i))
                        .map_err(|e| corrupted(format!("headers: {e}")))?,
                },
                content_type: ContentType::from_stored(content_type.value(i)),
                payload: Bytes::copy_from_slice(payload.value(i)),
            })
        })
        .collect()
}
