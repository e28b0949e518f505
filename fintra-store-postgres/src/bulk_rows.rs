//! Writing a bulk import's rows: binary `COPY` where it is allowed, multi-row `INSERT`s where
//! row-level security applies (PostgreSQL refuses `COPY FROM` there).

use std::collections::HashMap;

use fintra_core::{Error, NewEvent, Result, StreamId};
use sqlx::PgConnection;
use sqlx::types::Json;

use crate::BulkImportProgress;
use crate::bulk::StreamPlan;
use crate::copy_binary::CopyEncoder;
use crate::error::{WriteFailure, classify, to_i64};

/// Bytes sent to the server per `COPY` chunk (and per progress report).
const COPY_CHUNK_BYTES: usize = 4 * 1024 * 1024;
/// Events per `INSERT` statement on the row-level-security path.
const INSERT_CHUNK_EVENTS: usize = 1_000;

const COPY_SQL: &str = "COPY fintra_events (position, event_id, stream_id, stream_version, \
    tenant_id, event_type, schema_version, occurred_at, correlation_id, causation_id, actor, \
    headers, content_type, payload) FROM STDIN (FORMAT binary)";

const INSERT_SQL: &str = "INSERT INTO fintra_events (position, event_id, stream_id, \
    stream_version, tenant_id, event_type, schema_version, occurred_at, correlation_id, \
    causation_id, actor, headers, content_type, payload) \
    SELECT * FROM UNNEST($1::int8[], $2::uuid[], $3::text[], $4::int8[], $5::text[], $6::text[], \
    $7::int4[], $8::timestamptz[], $9::uuid[], $10::uuid[], $11::text[], $12::jsonb[], \
    $13::text[], $14::bytea[])";

/// The rows of one import: events in order, each stream's version counter, the position before
/// the first row.
pub(crate) struct Rows<'e, 'p> {
    pub(crate) events: &'e [(StreamId, NewEvent)],
    pub(crate) plans: &'p mut [StreamPlan<'e>],
    pub(crate) index: &'p HashMap<&'e StreamId, usize>,
    pub(crate) base: i64,
    pub(crate) total: u64,
}

impl Rows<'_, '_> {
    /// The next event's stream version.
    fn next_version(&mut self, stream: &StreamId) -> u64 {
        let plan = &mut self.plans[self.index[stream]];
        plan.next_version += 1;
        plan.next_version
    }
}

fn sent(count: usize, total: u64) -> BulkImportProgress {
    BulkImportProgress {
        events_sent: u64::try_from(count).unwrap_or(u64::MAX),
        events_total: total,
    }
}

/// Streams the rows through binary `COPY`; returns the last position written. On any failure
/// of its own the `COPY` is aborted properly, so the connection stays in step with the server.
pub(crate) async fn copy_rows(
    tx: &mut PgConnection,
    mut rows: Rows<'_, '_>,
    progress: &mut (impl FnMut(BulkImportProgress) + Send),
) -> Result<i64, WriteFailure> {
    let mut copy = tx.copy_in_raw(COPY_SQL).await.map_err(classify)?;
    copy.send(CopyEncoder::header()).await.map_err(classify)?;
    let mut enc = CopyEncoder::default();
    let mut position = rows.base;
    for (index, (stream, event)) in rows.events.iter().enumerate() {
        position += 1;
        let version = rows.next_version(stream);
        if let Err(error) = encode_row(&mut enc, position, stream, version, event) {
            // Dropping the COPY would leave its error reply unread: abort it instead.
            let _ = copy.abort("fintra: an event could not be encoded").await;
            return Err(WriteFailure::Other(error));
        }
        if enc.len() >= COPY_CHUNK_BYTES {
            copy.send(enc.take()).await.map_err(classify)?;
            progress(sent(index + 1, rows.total));
        }
    }
    let mut tail = enc.take();
    tail.extend_from_slice(&CopyEncoder::trailer());
    copy.send(tail).await.map_err(classify)?;
    copy.finish().await.map_err(classify)?;
    progress(sent(rows.events.len(), rows.total));
    Ok(position)
}

/// Writes the rows with one `INSERT … UNNEST` per [`INSERT_CHUNK_EVENTS`] events, which
/// row-level security checks like any insert; returns the last position written.
pub(crate) async fn insert_rows(
    tx: &mut PgConnection,
    mut rows: Rows<'_, '_>,
    progress: &mut (impl FnMut(BulkImportProgress) + Send),
) -> Result<i64, WriteFailure> {
    let fail = WriteFailure::Other;
    let mut position = rows.base;
    let mut done = 0usize;
    let events = rows.events;
    for chunk in events.chunks(INSERT_CHUNK_EVENTS) {
        let mut positions = Vec::with_capacity(chunk.len());
        let mut versions = Vec::with_capacity(chunk.len());
        let mut schema_versions = Vec::with_capacity(chunk.len());
        for (stream, event) in chunk {
            position += 1;
            positions.push(position);
            versions.push(to_i64("stream_version", rows.next_version(stream)).map_err(fail)?);
            schema_versions.push(
                i32::try_from(event.schema_version)
                    .map_err(|_| fail(Error::invalid("schema_version", "exceeds i32::MAX")))?,
            );
        }
        sqlx::query(INSERT_SQL)
            .bind(positions)
            .bind(chunk.iter().map(|(_, e)| e.event_id).collect::<Vec<_>>())
            .bind(chunk.iter().map(|(s, _)| s.as_str()).collect::<Vec<_>>())
            .bind(versions)
            .bind(chunk.iter().map(|(_, e)| e.metadata.tenant_id.as_str()).collect::<Vec<_>>())
            .bind(chunk.iter().map(|(_, e)| e.event_type.as_str()).collect::<Vec<_>>())
            .bind(schema_versions)
            .bind(chunk.iter().map(|(_, e)| e.occurred_at).collect::<Vec<_>>())
            .bind(chunk.iter().map(|(_, e)| e.metadata.correlation_id).collect::<Vec<_>>())
            .bind(chunk.iter().map(|(_, e)| e.metadata.causation_id).collect::<Vec<_>>())
            .bind(chunk.iter().map(|(_, e)| e.metadata.actor.to_storage()).collect::<Vec<_>>())
            .bind(chunk.iter().map(|(_, e)| Json(&e.metadata.headers)).collect::<Vec<_>>())
            .bind(chunk.iter().map(|(_, e)| e.content_type.as_str()).collect::<Vec<_>>())
            .bind(chunk.iter().map(|(_, e)| e.payload.as_ref()).collect::<Vec<&[u8]>>())
            .execute(&mut *tx)
            .await
            .map_err(classify)?;
        done += chunk.len();
        progress(sent(done, rows.total));
    }
    Ok(position)
}

fn encode_row(
    enc: &mut CopyEncoder,
    position: i64,
    stream: &StreamId,
    version: u64,
    event: &NewEvent,
) -> Result<()> {
    let schema_version = i32::try_from(event.schema_version)
        .map_err(|_| Error::invalid("schema_version", "exceeds i32::MAX"))?;
    let headers = serde_json::to_string(&event.metadata.headers).map_err(Error::backend)?;
    enc.row(14);
    enc.int8(position)?;
    enc.uuid(event.event_id)?;
    enc.text(stream.as_str())?;
    enc.int8(to_i64("stream_version", version)?)?;
    enc.text(event.metadata.tenant_id.as_str())?;
    enc.text(&event.event_type)?;
    enc.int4(schema_version)?;
    enc.timestamptz(event.occurred_at)?;
    enc.opt_uuid(event.metadata.correlation_id)?;
    enc.opt_uuid(event.metadata.causation_id)?;
    enc.text(&event.metadata.actor.to_storage())?;
    enc.jsonb(&headers)?;
    enc.text(event.content_type.as_str())?;
    enc.bytea(&event.payload)
}
