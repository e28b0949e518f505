//! Reading events from a binary `COPY … TO STDOUT` stream (the global-log catch-up path).
//!
//! Same columns, in the same order, as `sql/select_events.sql`. Every malformed byte is
//! `Corrupted`, never a panic; payloads are zero-copy slices of the received buffer.

use bytes::Bytes;
use chrono::{DateTime, Utc};
use fintra_core::{
    Actor, ContentType, Error, EventMetadata, Position, RecordedEvent, Result, StreamVersion,
};
use uuid::Uuid;

use crate::copy_binary::{PG_EPOCH_UNIX_MICROS, SIGNATURE};
use crate::rows::{IdCache, parse_headers};

const COLUMNS: i16 = 15;

fn corrupt(what: &str) -> Error {
    Error::corrupted(format!("malformed COPY data: {what}"))
}

struct Reader {
    data: Bytes,
    at: usize,
}

impl Reader {
    fn take(&mut self, n: usize) -> Result<&[u8]> {
        let end = self
            .at
            .checked_add(n)
            .filter(|&end| end <= self.data.len())
            .ok_or_else(|| corrupt("truncated"))?;
        let slice = &self.data[self.at..end];
        self.at = end;
        Ok(slice)
    }

    fn i16(&mut self) -> Result<i16> {
        let bytes = self.take(2)?;
        Ok(i16::from_be_bytes([bytes[0], bytes[1]]))
    }

    fn i32(&mut self) -> Result<i32> {
        let b = self.take(4)?;
        Ok(i32::from_be_bytes([b[0], b[1], b[2], b[3]]))
    }

    /// A field's length; `None` for SQL NULL.
    fn len(&mut self) -> Result<Option<usize>> {
        match self.i32()? {
            -1 => Ok(None),
            n => usize::try_from(n).map(Some).map_err(|_| corrupt("negative field length")),
        }
    }

    fn field(&mut self) -> Result<&[u8]> {
        let n = self.len()?.ok_or_else(|| corrupt("unexpected NULL"))?;
        self.take(n)
    }

    fn fixed<const N: usize>(&mut self) -> Result<[u8; N]> {
        self.field()?.try_into().map_err(|_| corrupt("field of the wrong width"))
    }

    fn int8(&mut self) -> Result<i64> {
        Ok(i64::from_be_bytes(self.fixed::<8>()?))
    }

    fn int4(&mut self) -> Result<i32> {
        Ok(i32::from_be_bytes(self.fixed::<4>()?))
    }

    fn uuid(&mut self) -> Result<Uuid> {
        Ok(Uuid::from_bytes(self.fixed::<16>()?))
    }

    fn opt_uuid(&mut self) -> Result<Option<Uuid>> {
        match self.len()? {
            None => Ok(None),
            Some(16) => {
                Ok(Some(Uuid::from_bytes(self.take(16)?.try_into().map_err(|_| corrupt("uuid"))?)))
            }
            Some(_) => Err(corrupt("uuid of the wrong width")),
        }
    }

    fn text(&mut self) -> Result<&str> {
        std::str::from_utf8(self.field()?).map_err(|_| corrupt("text is not UTF-8"))
    }

    fn timestamptz(&mut self) -> Result<DateTime<Utc>> {
        self.int8()?
            .checked_add(PG_EPOCH_UNIX_MICROS)
            .and_then(DateTime::from_timestamp_micros)
            .ok_or_else(|| corrupt("timestamp out of range"))
    }

    fn jsonb(&mut self) -> Result<&str> {
        let raw = self.field()?;
        match raw.split_first() {
            Some((1, json)) => std::str::from_utf8(json).map_err(|_| corrupt("jsonb is not UTF-8")),
            _ => Err(corrupt("unknown jsonb version")),
        }
    }

    /// A zero-copy slice of the buffer.
    fn bytea(&mut self) -> Result<Bytes> {
        let n = self.len()?.ok_or_else(|| corrupt("unexpected NULL"))?;
        let start = self.at;
        self.take(n)?;
        Ok(self.data.slice(start..start + n))
    }
}

fn non_negative(field: &str, value: i64) -> Result<u64> {
    u64::try_from(value).map_err(|_| corrupt(field))
}

fn event(r: &mut Reader, ids: &mut IdCache) -> Result<RecordedEvent> {
    let position = Position(non_negative("position", r.int8()?)?);
    let event_id = r.uuid()?;
    let stream_id = ids.stream(r.text()?)?;
    let stream_version = StreamVersion(non_negative("stream_version", r.int8()?)?);
    let tenant_id = ids.tenant(r.text()?)?;
    let event_type = r.text()?.to_owned();
    let schema_version = u32::try_from(r.int4()?).map_err(|_| corrupt("schema_version"))?;
    let recorded_at = r.timestamptz()?;
    let occurred_at = r.timestamptz()?;
    let correlation_id = r.opt_uuid()?;
    let causation_id = r.opt_uuid()?;
    let actor = Actor::from_storage(r.text()?)?;
    let headers = parse_headers(r.jsonb()?)?;
    let content_type = ContentType::from_stored(r.text()?);
    let payload = r.bytea()?;
    Ok(RecordedEvent {
        event_id,
        stream_id,
        stream_version,
        position,
        event_type,
        schema_version,
        recorded_at,
        occurred_at,
        metadata: EventMetadata { tenant_id, correlation_id, causation_id, actor, headers },
        content_type,
        payload,
    })
}

/// The number of rows and the position of the last one, found by walking the rows' field
/// lengths without decoding them: what a pipelined reader needs to ask for the next page while
/// this one is decoded. Malformed data is `Corrupted`.
pub(crate) fn scan_last(data: &Bytes) -> Result<(usize, Option<Position>)> {
    let mut r = Reader { data: data.clone(), at: 0 };
    skip_header(&mut r)?;
    let (mut rows, mut last) = (0usize, None);
    loop {
        match r.i16()? {
            -1 => return Ok((rows, last)),
            COLUMNS => {
                last = Some(Position(non_negative("position", r.int8()?)?));
                for _ in 1..COLUMNS {
                    if let Some(n) = r.len()? {
                        r.take(n)?;
                    }
                }
                rows += 1;
            }
            other => return Err(corrupt(&format!("{other} columns in a row"))),
        }
    }
}

fn skip_header(r: &mut Reader) -> Result<()> {
    if r.take(SIGNATURE.len())? != SIGNATURE {
        return Err(corrupt("missing signature"));
    }
    let _flags = r.i32()?;
    let extension = usize::try_from(r.i32()?).map_err(|_| corrupt("header extension"))?;
    r.take(extension)?;
    Ok(())
}

/// Decodes a whole binary COPY stream (header, rows, trailer).
pub(crate) fn decode(data: Bytes, capacity: usize) -> Result<Vec<RecordedEvent>> {
    decode_with(data, capacity, &mut IdCache::default())
}

/// [`decode`] with ids cached by the caller, across pages.
pub(crate) fn decode_with(
    data: Bytes,
    capacity: usize,
    ids: &mut IdCache,
) -> Result<Vec<RecordedEvent>> {
    let mut r = Reader { data, at: 0 };
    skip_header(&mut r)?;
    ids.bound();
    let mut events = Vec::with_capacity(capacity);
    loop {
        match r.i16()? {
            -1 => return Ok(events),
            COLUMNS => events.push(event(&mut r, ids)?),
            other => return Err(corrupt(&format!("{other} columns in a row"))),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn malformed_input_is_corrupted_never_a_panic() {
        for bytes in
            [&b""[..], b"PGCOPY", b"PGCOPY\n\xff\r\n\0\0\0\0\0\0\0\0\0", b"garbage data here"]
        {
            assert!(matches!(
                decode(Bytes::copy_from_slice(bytes), 0),
                Err(Error::Corrupted { .. })
            ));
        }
        let mut header = SIGNATURE.to_vec();
        header.extend_from_slice(&[0; 8]);
        let mut empty = header.clone();
        empty.extend_from_slice(&(-1i16).to_be_bytes());
        assert!(decode(Bytes::from(empty), 0).unwrap().is_empty());
        let mut short_row = header;
        short_row.extend_from_slice(&15i16.to_be_bytes());
        short_row.extend_from_slice(&8i32.to_be_bytes());
        short_row.extend_from_slice(&[0; 3]);
        assert!(matches!(decode(Bytes::from(short_row.clone()), 1), Err(Error::Corrupted { .. })));
        assert!(matches!(scan_last(&Bytes::from(short_row)), Err(Error::Corrupted { .. })));
    }
}
